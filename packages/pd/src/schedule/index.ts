// PD's scheduling framework: operators, the operator controller, the replica checker, the
// balance schedulers and the coordinator that runs them (see packages/pd/README.md, Scheduling).
export {
  defaultScheduleConfig,
  clusterViewOf,
  type ScheduleConfig,
  type ScheduleCluster,
} from './config';
export { ClusterSnapshot, type StoreLoad } from './cluster-snapshot';
export {
  isStepFinished,
  stepBlockedReason,
  stepChangesConfVer,
  stepConfVerApplied,
  isSlowStep,
  stepResponse,
  describeStep,
  type OperatorStep,
} from './operator-step';
export {
  Operator,
  type OperatorKind,
  type OperatorPriority,
  type OperatorStatus,
  type OperatorCheck,
  type OperatorJson,
  type OperatorInit,
  type StepTimeouts,
} from './operator';
export {
  OperatorController,
  type OperatorControllerOptions,
  type AddOperatorResult,
  type AddOperatorRefusal,
  type StoreLimitType,
} from './operator-controller';
export {
  movePeerSteps,
  removePeerSteps,
  pickLeaderTarget,
  isRegionHealthy,
  type PeerIdAllocator,
} from './operator-builder';
export { ReplicaChecker } from './replica-checker';
export {
  BalanceLeaderScheduler,
  BalanceRegionScheduler,
  type Scheduler,
  type ScheduleContext,
} from './schedulers';
export {
  Coordinator,
  SCHEDULER_NAMES,
  type SchedulerName,
  type CoordinatorOptions,
  type OperatorDispatch,
} from './coordinator';
export { PeerIdPool } from './peer-id-pool';
