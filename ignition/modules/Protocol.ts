import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

const WAD = 10n ** 18n;
const pct = (tenthsOfPercent: bigint) => (tenthsOfPercent * WAD) / 1_000n;

/** Margin brackets of DESIGN §13: to $1M 2.5 % / 5 %, to $5M 5 % / 10 %, above 10 % / 20 %. */
const TIERS = [
  { upToNotional: 1_000_000n * WAD, mmRate: pct(25n), imRate: pct(50n) },
  { upToNotional: 5_000_000n * WAD, mmRate: pct(50n), imRate: pct(100n) },
  { upToNotional: 0n, mmRate: pct(100n), imRate: pct(200n) },
];

/**
 * The local Crossmargin deployment of DESIGN §13: mock tokens and Chainlink-style feeds, one
 * oracle adapter per feed, the Vault with WETH and WBTC listed as collateral, the ClearingHouse
 * with ETH-PERP, BTC-PERP and STETH-PERP (ETH and STETH hedged in group 1), the ERC-4626
 * liquidity pool and the MarginLens; the pool and the insurance fund seeded by the deployer.
 * Numbers come from the parameters file (ignition/parameters/local.json); the defaults below are
 * the same values.
 */
export default buildModule("Protocol", (m) => {
  const deployer = m.getAccount(0);
  const heartbeat = m.getParameter("feedHeartbeat", 86_400n);

  const usdc = m.contract("MockERC20", ["USD Coin", "USDC", 6], { id: "USDC" });
  const weth = m.contract("MockERC20", ["Wrapped Ether", "WETH", 18], { id: "WETH" });
  const wbtc = m.contract("MockERC20", ["Wrapped Bitcoin", "WBTC", 8], { id: "WBTC" });

  const feed = (id: string, description: string, defaultAnswer: bigint) =>
    m.contract("MockAggregator", [8, description, m.getParameter(`${id}Answer`, defaultAnswer)], { id });
  const usdcFeed = feed("usdcFeed", "USDC / USD", 100_000_000n);
  const ethFeed = feed("ethFeed", "ETH / USD", 300_000_000_000n);
  const btcFeed = feed("btcFeed", "BTC / USD", 6_000_000_000_000n);
  const stethFeed = feed("stethFeed", "STETH / USD", 299_000_000_000n);

  const oracle = (id: string, source: ReturnType<typeof feed>) =>
    m.contract("ChainlinkOracle", [source, heartbeat], { id });
  const usdcOracle = oracle("usdcOracle", usdcFeed);
  const ethOracle = oracle("ethOracle", ethFeed);
  const btcOracle = oracle("btcOracle", btcFeed);
  const stethOracle = oracle("stethOracle", stethFeed);

  const vault = m.contract("Vault", [usdc, deployer, m.getParameter("guardian", deployer)]);

  m.call(
    vault,
    "listCollateral",
    [weth, ethOracle, m.getParameter("wethHaircut", 10n ** 17n), m.getParameter("wethCap", 100_000n * 10n ** 18n)],
    { id: "listWETH" },
  );
  m.call(
    vault,
    "listCollateral",
    [wbtc, btcOracle, m.getParameter("wbtcHaircut", 15n * 10n ** 16n), m.getParameter("wbtcCap", 5_000n * 10n ** 8n)],
    { id: "listWBTC" },
  );

  const marketConfig = m.library("MarketConfig");
  const clearingHouse = m.contract("ClearingHouse", [vault, deployer, m.getParameter("guardian", deployer)], {
    libraries: { MarketConfig: marketConfig },
  });
  const setHook = m.call(vault, "setClearingHouse", [clearingHouse]);
  const market = (
    id: string,
    oracleFuture: ReturnType<typeof oracle>,
    group: number,
    skewScale: bigint,
    oiCap: bigint,
    after: Parameters<typeof m.call>[3],
  ) =>
    m.call(
      clearingHouse,
      "addMarket",
      [
        {
          oracle: oracleFuture,
          group,
          skewScale: m.getParameter(`${id}SkewScale`, skewScale),
          takerFee: m.getParameter("takerFee", pct(5n) / 10n),
          maxFundingRatePerDay: m.getParameter("maxFundingRatePerDay", pct(100n)),
          maxLongOpenInterest: m.getParameter(`${id}OpenInterestCap`, oiCap),
          maxShortOpenInterest: m.getParameter(`${id}OpenInterestCap`, oiCap),
          maxPriceDeviation: m.getParameter("maxPriceDeviation", pct(200n)),
          tiers: TIERS,
        },
      ],
      { id: `add${id}`, ...after },
    );
  // markets are numbered in the order added: 1 ETH-PERP, 2 BTC-PERP, 3 STETH-PERP
  const eth = market("ETH", ethOracle, 1, 1_000_000n * WAD, 100_000n * WAD, {});
  const btc = market("BTC", btcOracle, 0, 50_000n * WAD, 5_000n * WAD, { after: [eth] });
  market("STETH", stethOracle, 1, 1_000_000n * WAD, 100_000n * WAD, { after: [btc] });
  m.call(clearingHouse, "setGroupOffset", [1, m.getParameter("hedgeOffset", pct(800n))]);
  m.call(clearingHouse, "setLiquidationParams", [
    {
      liquidationFee: m.getParameter("liquidationFee", pct(10n)),
      keeperShare: m.getParameter("keeperShare", pct(500n)),
      closeFactor: m.getParameter("closeFactor", pct(500n)),
      fullLiquidationThreshold: m.getParameter("fullLiquidationThreshold", pct(500n)),
      dustThreshold: m.getParameter("dustThreshold", 100n * WAD),
      collateralDiscount: m.getParameter("collateralDiscount", pct(50n)),
    },
  ]);

  const pool = m.contract("LiquidityPool", [vault, clearingHouse]);
  const setPool = m.call(vault, "setLiquidityPool", [pool]);
  const lens = m.contract("MarginLens", [clearingHouse]);

  const poolSeed = m.getParameter("poolSeed", 1_000_000n * 10n ** 6n);
  const mintPool = m.call(usdc, "mint", [deployer, poolSeed], { id: "mintPoolSeed" });
  const approvePool = m.call(usdc, "approve", [pool, poolSeed], { id: "approvePoolSeed", after: [mintPool] });
  m.call(pool, "deposit", [poolSeed, deployer], { id: "seedPool", after: [approvePool, setPool, setHook] });

  const insuranceSeed = m.getParameter("insuranceSeed", 100_000n * 10n ** 6n);
  const mintInsurance = m.call(usdc, "mint", [deployer, insuranceSeed], { id: "mintInsuranceSeed" });
  const approveInsurance = m.call(usdc, "approve", [vault, insuranceSeed], {
    id: "approveInsuranceSeed",
    after: [mintInsurance],
  });
  m.call(vault, "depositInsurance", [insuranceSeed], { id: "seedInsurance", after: [approveInsurance] });

  return {
    vault,
    clearingHouse,
    lens,
    pool,
    usdc,
    weth,
    wbtc,
    usdcFeed,
    ethFeed,
    btcFeed,
    stethFeed,
    usdcOracle,
    ethOracle,
    btcOracle,
    stethOracle,
  };
});
