import { describe, expect, it } from 'vitest';
import { CronConversionError, toSchedulerCron } from '../../../lib/infra/index.js';

describe('toSchedulerCron', () => {
  it.each([
    ['0 7 * * 1-5', 'cron(0 7 ? * 2,3,4,5,6 *)'],
    ['0 20 * * 1-5', 'cron(0 20 ? * 2,3,4,5,6 *)'],
    ['0 0 * * 6', 'cron(0 0 ? * 7 *)'],
    ['0 0 * * 0', 'cron(0 0 ? * 1 *)'],
    ['0 0 * * 7', 'cron(0 0 ? * 1 *)'],
    ['30 8 * * 5-7', 'cron(30 8 ? * 1,6,7 *)'],
    ['0 9 * * MON-FRI', 'cron(0 9 ? * 2,3,4,5,6 *)'],
    ['0 9 * * sat,sun', 'cron(0 9 ? * 1,7 *)'],
    ['0 */2 * * 1-5/2', 'cron(0 0/2 ? * 2,4,6 *)'],
    ['*/15 * * * *', 'cron(0/15 * * * ? *)'],
    ['0 6 1 * *', 'cron(0 6 1 * ? *)'],
    ['0 6 1,15 jan-mar *', 'cron(0 6 1,15 JAN-MAR ? *)'],
  ])('converts "%s" to %s', (unix, scheduler) => {
    // When
    const result = toSchedulerCron(unix);
    // Then
    expect(result).toBe(scheduler);
  });

  it('rejects a day-of-month together with a day-of-week, saying how to fix it', () => {
    expect(() => toSchedulerCron('0 0 1 * 1')).toThrow(/split it into two policies/);
  });

  it.each([
    ['0 7 * *', /must have 5 fields/],
    ['0 7 * * * 2026', /must have 5 fields/],
    ['0 7 * * 8', /not 0-7 or SUN-SAT/],
    ['0 7 * * FUN', /not 0-7 or SUN-SAT/],
    ['0 7 L * *', /day-of-month "L"/],
    ['@daily x y z w', /minute "@daily"/],
  ])('rejects "%s"', (expr, message) => {
    expect(() => toSchedulerCron(expr)).toThrow(CronConversionError);
    expect(() => toSchedulerCron(expr)).toThrow(message);
  });
});
