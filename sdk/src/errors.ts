/**
 * The SDK's errors. Every one says what went wrong with which account, market, token or parameter,
 * and what to do about it; a contract revert carries the custom error decoded from the revert data.
 */
import { Interface, type ErrorDescription } from "ethers";

/** Base class of every error the SDK throws on purpose. */
export class CrossmarginError extends Error {
  override name = "CrossmarginError";

  /**
   * @param message What went wrong and what to do.
   * @param options `cause`: the underlying error, when there is one.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A contract call or transaction reverted; `errorName` and `args` come from the revert data. */
export class ContractRevertError extends CrossmarginError {
  override name = "ContractRevertError";

  /**
   * @param contract The contract the SDK called (`Vault`, `ClearingHouse`, `MarginLens`, a token symbol …).
   * @param method The function called.
   * @param errorName The custom error's name (`PriceLimitExceeded`, `StalePrice` …), `Error` for a
   *        `revert("…")`, `Panic`, or `unknown` when the revert data matched no known error.
   * @param args The error's arguments, in order.
   * @param namedArgs The error's arguments by parameter name.
   * @param data The raw revert data (`0x` when the node returned none).
   * @param cause The error the provider threw.
   */
  constructor(
    readonly contract: string,
    readonly method: string,
    readonly errorName: string,
    readonly args: readonly unknown[],
    readonly namedArgs: Readonly<Record<string, unknown>>,
    readonly data: string,
    cause?: unknown,
  ) {
    super(revertMessage(contract, method, errorName, namedArgs, args, data), { cause });
  }
}

/** The connected provider is on another chain than the deployment the client was given. */
export class WrongChainError extends CrossmarginError {
  override name = "WrongChainError";

  /**
   * @param expected The deployment's chain id.
   * @param actual The provider's chain id.
   */
  constructor(
    readonly expected: bigint,
    readonly actual: bigint,
  ) {
    super(
      `the deployment is for chain ${expected} but the provider is on chain ${actual}: connect to chain ${expected}, or load the deployment of chain ${actual}`,
    );
  }
}

/** No contract code at an address the client was given. */
export class NoCodeError extends CrossmarginError {
  override name = "NoCodeError";

  /**
   * @param contract The contract expected there (`Vault` …).
   * @param address The address.
   * @param chainId The provider's chain id.
   */
  constructor(
    readonly contract: string,
    readonly address: string,
    readonly chainId: bigint,
  ) {
    super(
      `no ${contract} at ${address} on chain ${chainId}: ` +
        (chainId === 31337n
          ? "wrong network, or the node was restarted — redeploy (npm run deploy:local)"
          : "wrong network, or addresses from another chain's deployment — check the registry or addresses passed"),
    );
  }
}

/** A transaction was asked of a client connected with a provider or another runner that cannot sign. */
export class ReadOnlyRunnerError extends CrossmarginError {
  override name = "ReadOnlyRunnerError";

  /** @param action The client method that needs a signer. */
  constructor(readonly action: string) {
    super(
      `${action} sends a transaction, but the client's runner cannot sign: connect with a Signer to send transactions (CrossmarginClient.connect(signer, …))`,
    );
  }
}

/* REVERT DECODING */

const BUILTIN = new Interface(["error Error(string message)", "error Panic(uint256 code)"]);

/** What to do about the errors a person is most likely to meet, by custom error name. */
const HINTS: Readonly<Record<string, string>> = {
  PriceLimitExceeded: "the fill moved past the price limit: raise slippageBps or pass a wider priceLimit",
  InsufficientMargin: "deposit more collateral or trade a smaller size",
  InsufficientFreeCollateral: "withdraw or move less, or reduce positions first",
  InsufficientBalance: "the account holds less of the token than requested: check balances(accountId)",
  MarginRatioWorsened: "close more of the position (or all of it) so the margin ratio does not fall",
  NotAccountOwner: "send from the account's owner (Vault.ownerOf)",
  NotAccountOwnerOrOperator: "send from the account's owner or an operator it approved",
  AccountOwnerMismatch: "collateral moves only between accounts of one owner",
  UnknownAccount: "no such account: list yours with accountsOf(owner)",
  UnknownMarket: "no such market: market ids start at 1 (ClearingHouse.marketCount)",
  UnsupportedToken: "the Vault does not accept this token: use the settlement token or a listed collateral",
  TokenDisabled: "deposits of this token are disabled by governance",
  DepositCapExceeded: "the token's deposit cap is reached: deposit less or use another token",
  InvalidSizeStep: "sizes are whole lots of 1e10 (1e-8 of a unit): round sizeDelta to a multiple of 1e10",
  ZeroAmount: "pass an amount above zero",
  ZeroSize: "pass a sizeDelta other than zero",
  NoPosition: "the account holds no position in this market",
  TooManyPositions: "close a position in another market first",
  IsolatedAccountMarketLimit: "an isolated account trades one market: use another account for this market",
  OpenInterestCapExceeded: "the market's open-interest cap is reached: trade a smaller size",
  MarketReduceOnly: "the market's circuit breaker is tripped: only reducing trades until it clears",
  PriceDeviationExceeded: "the oracle moved beyond the circuit-breaker band: only reducing trades now",
  StalePrice: "the price feed has not updated within its heartbeat: wait for a fresh answer",
  InvalidPrice: "the price feed reports a non-positive price",
  IncompleteRound: "the price feed's round is incomplete: wait for the next answer",
  ActionPaused: "the guardian paused this action",
  AccountNotLiquidatable: "the account's equity covers its maintenance margin",
  ERC20InsufficientAllowance: "approve the Vault for at least the amount first",
  ERC20InsufficientBalance: "the sender holds less of the token than the amount",
};

function formatValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  return String(value);
}

function revertMessage(
  contract: string,
  method: string,
  errorName: string,
  namedArgs: Readonly<Record<string, unknown>>,
  args: readonly unknown[],
  data: string,
): string {
  if (errorName === "unknown") {
    const what =
      data === "0x" ? "without revert data" : `with data ${data.slice(0, 10)}… that no Crossmargin ABI knows`;
    return `${contract}.${method} reverted ${what}`;
  }
  const names = Object.keys(namedArgs);
  const shown =
    names.length === args.length
      ? names.map((n) => `${n}=${formatValue(namedArgs[n])}`)
      : args.map((a) => formatValue(a));
  const hint = HINTS[errorName];
  return `${contract}.${method} reverted: ${errorName}(${shown.join(", ")})${hint ? ` — ${hint}` : ""}`;
}

/** The revert data inside an error thrown by ethers or a node, wherever the provider put it. */
export function findRevertData(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof error !== "object" || error === null) return undefined;
  const e = error as { data?: unknown; error?: unknown; cause?: unknown; info?: unknown };
  if (typeof e.data === "string" && /^0x[0-9a-fA-F]*$/.test(e.data) && e.data.length >= 10) return e.data;
  if (typeof e.data === "object" && e.data !== null) {
    const inner = findRevertData(e.data, depth + 1);
    if (inner) return inner;
  }
  return findRevertData(e.error, depth + 1) ?? findRevertData(e.cause, depth + 1) ?? findRevertData(e.info, depth + 1);
}

/** Whether an error is a revert (the call ran and failed) rather than a network or signing fault. */
export function isRevert(error: unknown): boolean {
  if (findRevertData(error)) return true;
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === "CALL_EXCEPTION" || /revert/i.test(String(e?.message ?? ""));
}

/**
 * Decodes the revert in `error` with the first of `interfaces` that knows its selector (plus the
 * built-in `Error(string)` and `Panic(uint256)`), as a {@link ContractRevertError}. Returns
 * `undefined` when `error` is not a revert, so the caller can rethrow it as it is.
 *
 * @param error What the provider threw.
 * @param contract The contract called, for the message.
 * @param method The function called, for the message.
 * @param interfaces The ABIs to try, most specific first.
 */
export function decodeRevert(
  error: unknown,
  contract: string,
  method: string,
  interfaces: readonly Interface[],
): ContractRevertError | undefined {
  if (error instanceof ContractRevertError) return error;
  const data = findRevertData(error);
  if (!data) {
    if (!isRevert(error)) return undefined;
    return new ContractRevertError(contract, method, "unknown", [], {}, "0x", error);
  }
  let parsed: ErrorDescription | null = null;
  for (const iface of [...interfaces, BUILTIN]) {
    try {
      parsed = iface.parseError(data);
    } catch {
      parsed = null; // the selector matched but the arguments did not decode: try the next ABI
    }
    if (parsed) break;
  }
  if (!parsed) return new ContractRevertError(contract, method, "unknown", [], {}, data, error);
  const args = parsed.args.toArray();
  const namedArgs: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => {
    namedArgs[input.name || `arg${i}`] = args[i];
  });
  return new ContractRevertError(contract, method, parsed.name, args, namedArgs, data, error);
}
