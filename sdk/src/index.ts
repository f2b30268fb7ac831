/**
 * Crossmargin SDK: a typed client for the protocol (reads valued with the protocol's margin
 * mirror, actions with decoded reverts), event helpers and the deployments registry format.
 * Node-only helpers (reading the registry from disk) live in `./node`.
 */
export {
  CrossmarginClient,
  marginRatio,
  priceLimitFor,
  type AccountBalances,
  type AccountHealth,
  type ActionResult,
  type ConnectOptions,
  type CreateAccountResult,
  type DepositResult,
  type FundingInfo,
  type LiquidationPriceOptions,
  type MarginMode,
  type PositionInfo,
  type TokenBalance,
  type TradeOptions,
  type TradePreview,
  type TradeResult,
} from "./client";
export {
  ContractRevertError,
  CrossmarginError,
  NoCodeError,
  ReadOnlyRunnerError,
  WrongChainError,
  decodeRevert,
  findRevertData,
  isRevert,
} from "./errors";
export {
  LOG_CHUNK_BLOCKS,
  decodeLiquidation,
  decodePositionChange,
  liquidations,
  onLiquidation,
  onPositionChanged,
  positionHistory,
  queryInChunks,
  type BlockRange,
  type EventMeta,
  type Liquidation,
  type PositionChange,
  type Unsubscribe,
} from "./events";
export {
  DEPLOYMENT_SCHEMA,
  DeploymentFormatError,
  deploymentAddresses,
  parseDeployment,
  type DeployedContract,
  type Deployment,
  type DeploymentMarket,
  type DeploymentToken,
  type ProtocolAddresses,
} from "./deployment";
export { WAD } from "../../src/math/fixedPoint";
export type { AccountMargin, CollateralHolding, PositionInput, Tier } from "../../src/math/margin";
export type { AccountSnapshot, PositionView } from "../../src/protocol/margin";
export type { AccountCollateral, HoldingView } from "../../src/protocol/collateral";
