/** Base error of the userdata module. `field` names the input that is wrong, when one is. */
export class UserDataError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserDataError';
  }
}

/**
 * The rendered script is over EC2's user-data limit (16 KB before base64). RunInstances would
 * reject it; the fix is fewer or shorter labels, taints or tags.
 */
export class UserDataTooLargeError extends UserDataError {
  constructor(
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `rendered user data is ${sizeBytes} bytes, over the EC2 limit of ${limitBytes} bytes: ` +
        'use fewer or shorter nodes.labels, nodes.taints or tailscale.tags',
    );
    this.name = 'UserDataTooLargeError';
  }
}
