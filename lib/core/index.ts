/**
 * Pure decisions of k3s-burst (docs/architecture.md): the instance catalog, schedules, matching of pod
 * shapes to cloud nodes, bin-packing scale-out, scale-in, repairs, and `planCluster`, which
 * ties them together. No I/O, no SDKs, no clock: time is a parameter (checked by
 * test/unit/core/purity.test.ts).
 */
export { type NewNodeCapacity, type NodeRoom, newNodeCapacity } from './capacity.js';
export {
  buildCatalog,
  builtInInstanceSpecs,
  type Catalog,
  type InstanceSpec,
  KERNEL_MEMORY_FRACTION,
  UnknownInstanceTypeError,
} from './catalog.js';
export { cronProblem, loadConfig } from './config.js';
export { decisionIdFor, launchKeyFor, nodeNameFor, parseLaunchKey, parseProviderId } from './ids.js';
export {
  cloudNodeLabels,
  type FitResult,
  labelMismatch,
  type NodeLabelsAndTaints,
  requirementMatches,
  shapeFitsNode,
  tolerates,
  untoleratedTaint,
} from './matching.js';
export { type PlanInput, planCluster } from './plan.js';
export { utilizationPercent, workloadStableSinceMs } from './scale-in.js';
export { type ActiveSchedule, activeSchedule, scheduleBoundaries } from './schedule.js';
