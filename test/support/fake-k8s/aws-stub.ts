/**
 * A minimal AWS endpoint on 127.0.0.1 for a real agent *process* (AWS_ENDPOINT_URL points the
 * SDK here): EventBridge PutEvents and SQS ReceiveMessage / DeleteMessage /
 * ChangeMessageVisibility over the AWS JSON protocol. ReceiveMessage long-polls like SQS (holds
 * the request for WaitTimeSeconds, or until a message is queued). Records every call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsStubCall {
  target: string;
  body: Record<string, unknown>;
  authorization: string;
}

export class AwsStub {
  readonly calls: AwsStubCall[] = [];
  readonly putEvents: { DetailType: string; Detail: string; Source: string }[] = [];
  private readonly messages: { id: string; body: string; receipt: string }[] = [];
  private readonly waiting = new Set<() => void>();
  private server!: http.Server;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Queue an SQS message body for the agent. */
  send(body: string): string {
    const id = `m-${this.calls.length}-${this.messages.length}`;
    this.messages.push({ id, body, receipt: `r-${id}` });
    for (const w of [...this.waiting]) w();
    return id;
  }

  async close(): Promise<void> {
    for (const w of [...this.waiting]) w();
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private reply(res: http.ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    this.calls.push({ target, body, authorization: String(req.headers.authorization ?? '') });
    if (target === 'AWSEvents.PutEvents') {
      const entries = (body.Entries ?? []) as { DetailType: string; Detail: string; Source: string }[];
      this.putEvents.push(...entries);
      return this.reply(res, {
        FailedEntryCount: 0,
        Entries: entries.map((_, i) => ({ EventId: `stub-${this.putEvents.length}-${i}` })),
      });
    }
    if (target === 'AmazonSQS.ReceiveMessage') {
      const deliver = () => {
        const m = this.messages.shift();
        this.reply(
          res,
          m
            ? {
                Messages: [
                  {
                    MessageId: m.id,
                    ReceiptHandle: m.receipt,
                    Body: m.body,
                    Attributes: { ApproximateReceiveCount: '1' },
                  },
                ],
              }
            : {},
        );
      };
      if (this.messages.length > 0) return deliver();
      const wait = Math.min(20, Number(body.WaitTimeSeconds ?? 0)) * 1000;
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        if (!res.writableEnded && !res.destroyed) deliver();
      };
      const timer = setTimeout(done, wait);
      this.waiting.add(done);
      res.on('close', () => {
        clearTimeout(timer);
        this.waiting.delete(done);
      });
      return;
    }
    if (target === 'AmazonSQS.DeleteMessage' || target === 'AmazonSQS.ChangeMessageVisibility')
      return this.reply(res, {});
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(
      JSON.stringify({ __type: 'UnknownOperationException', message: `stub does not serve ${target}` }),
    );
  }
}

export async function startAwsStub(): Promise<AwsStub> {
  return new AwsStub().start();
}
