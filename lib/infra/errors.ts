/** Base error of the infra module: a problem found while synthesizing the stack. */
export class InfraError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InfraError';
  }
}

/** The config file is missing, unreadable, not JSON, or does not match the schema. */
export class ConfigFileError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigFileError';
  }
}

/** A five-field cron expression that EventBridge Scheduler cannot express. */
export class CronConversionError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CronConversionError';
  }
}
