/**
 * Test harness: a real moto_server on 127.0.0.1, one per test file.
 *
 * ```ts
 * let moto: Moto;
 * beforeAll(async () => { moto = await startMoto(); });
 * afterAll(async () => { await moto?.stop(); });
 * new EC2Client(moto.clientConfig);
 * ```
 * Credentials are dummies passed in `clientConfig`; `process.env` is never touched, so
 * nothing leaks into other tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** moto is local: fail fast instead of retrying for seconds. */
  maxAttempts: number;
}

export interface Moto {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  pid: number;
  /** Spread into every AWS SDK client constructor. */
  clientConfig: MotoClientConfig;
  /** Wipe all moto state (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Kill the server by pid and wait for it to exit (bounded). Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  region?: string;
  /** Give up waiting for the server after this long. @default 30000 */
  startTimeoutMs?: number;
}

/** A port the OS says is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status < 500;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Spawn `moto_server -H 127.0.0.1 -p <free port>` and wait (bounded) until it answers. */
export async function startMoto(opts: StartMotoOptions = {}): Promise<Moto> {
  const region = opts.region ?? 'eu-central-1';
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let lastError = '';
  // A port can be taken between freePort() and bind: retry a few times with a new one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      if (!(await waitExit(child, 5000))) {
        child.kill('SIGKILL');
        await waitExit(child, 5000);
      }
    };
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`cannot start moto_server (is it on PATH?): ${spawnError.message}`);
      if (child.exitCode !== null) break;
      if (await answers(endpoint)) {
        return {
          endpoint,
          port,
          pid: child.pid ?? -1,
          clientConfig: {
            endpoint,
            region,
            credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
            maxAttempts: 1,
          },
          async reset() {
            const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
            await res.arrayBuffer();
          },
          stop,
        };
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    lastError = stderr;
    await stop();
    if (Date.now() >= deadline) break;
  }
  throw new Error(`moto_server did not answer in time. Last stderr:\n${lastError}`);
}
