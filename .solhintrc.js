// Solhint configuration (npm run lint:sol). JavaScript rather than .solhint.json so that every rule
// turned off or relaxed says why. Solhint 5 reads this file only when given with -c (as lint:sol
// does): without -c it looks for .solhint.json per directory and, finding none, checks nothing.
module.exports = {
  extends: "solhint:recommended",
  rules: {
    // relaxed from the recommended ^0.8.24: contracts/interfaces/AggregatorV3Interface.sol keeps
    // Chainlink's upstream `^0.8.0`; every other file pins 0.8.28, the compiler hardhat.config.ts uses
    "compiler-version": ["error", "^0.8.0"],
    // constructors have had no visibility since Solidity 0.7: the rule would ask for one that cannot be written
    "func-visibility": ["error", { ignoreConstructors: true }],
    "immutable-vars-naming": ["error", { immutablesAsConstants: true }],
    "no-global-import": "error",
    // off: the contracts revert with custom errors only, never with a reason string (gas-custom-errors
    // below makes any require(cond, "reason") or revert("reason") an error)
    "reason-string": "off",
    "gas-custom-errors": "error",
    "var-name-mixedcase": "error",
    "func-name-mixedcase": "error",
    // off: funding accrual, oracle heartbeats, the circuit breaker's reduce-only timeout and the
    // liquidation rate-limit window are time-based by design; block.timestamp is only compared and
    // accrued at second granularity, where a validator's few seconds of leeway gain nothing material
    "not-rely-on-time": "off",
    "one-contract-per-file": "error",
    "no-empty-blocks": "error",
    // off: Prettier (prettier-plugin-solidity, npm run lint:prettier) owns line length: printWidth
    // 120 in .prettierrc.json; the comments and strings Prettier does not wrap are left to review
    "max-line-length": "off",
  },
};
