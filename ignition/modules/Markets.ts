import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { perAssets, type AssetsModule } from "./assets";
import { coreModule } from "./Core";

const WAD = 10n ** 18n;
const pct = (tenthsOfPercent: bigint) => (tenthsOfPercent * WAD) / 1_000n;

/** Margin brackets of DESIGN §13: to $1M 2.5 % / 5 %, to $5M 5 % / 10 %, above 10 % / 20 %. */
export const TIERS = [
  { upToNotional: 1_000_000n * WAD, mmRate: pct(25n), imRate: pct(50n) },
  { upToNotional: 5_000_000n * WAD, mmRate: pct(50n), imRate: pct(100n) },
  { upToNotional: 0n, mmRate: pct(100n), imRate: pct(200n) },
];

/** The markets, in the order added (market ids 1, 2, 3), with the oracle each one reads. */
export const MARKETS = [
  { marketId: 1, symbol: "ETH-PERP", key: "ETH", oracle: "ethOracle", group: 1 },
  { marketId: 2, symbol: "BTC-PERP", key: "BTC", oracle: "btcOracle", group: 0 },
  { marketId: 3, symbol: "STETH-PERP", key: "STETH", oracle: "stethOracle", group: 1 },
] as const;

/** Collateral listed besides the settlement token, with the oracle that prices it. */
export const COLLATERAL = [
  { symbol: "WETH", token: "weth", oracle: "ethOracle" },
  { symbol: "WBTC", token: "wbtc", oracle: "btcOracle" },
] as const;

function build(assets: AssetsModule) {
  return buildModule("Markets", (m) => {
    const a = m.useModule(assets);
    const { vault, clearingHouse } = m.useModule(coreModule(assets));

    // one oracle adapter per feed; the heartbeat is the feed's own (Chainlink publishes it per feed)
    const oracle = (id: string, source: typeof a.ethFeed) =>
      m.contract("ChainlinkOracle", [source, m.getParameter(`${id}Heartbeat`, 86_400n)], { id });
    const usdcOracle = oracle("usdcOracle", a.usdcFeed);
    const ethOracle = oracle("ethOracle", a.ethFeed);
    const btcOracle = oracle("btcOracle", a.btcFeed);
    const stethOracle = oracle("stethOracle", a.stethFeed);

    const listWeth = m.call(
      vault,
      "listCollateral",
      [a.weth, ethOracle, m.getParameter("wethHaircut", 10n ** 17n), m.getParameter("wethCap", 100_000n * WAD)],
      { id: "listWETH" },
    );
    m.call(
      vault,
      "listCollateral",
      [
        a.wbtc,
        btcOracle,
        m.getParameter("wbtcHaircut", 15n * 10n ** 16n),
        m.getParameter("wbtcCap", 5_000n * 10n ** 8n),
      ],
      { id: "listWBTC", after: [listWeth] }, // listed in this order: WETH, WBTC
    );

    const market = (
      id: string,
      oracleFuture: typeof ethOracle,
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
    // markets are numbered in the order added (MARKETS): 1 ETH-PERP, 2 BTC-PERP, 3 STETH-PERP
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
    return { usdcOracle, ethOracle, btcOracle, stethOracle };
  });
}

/**
 * Markets and collateral configuration of DESIGN §13 over `assets`: one ChainlinkOracle adapter
 * per feed, WETH and WBTC listed as collateral, ETH-PERP, BTC-PERP and STETH-PERP (ETH and STETH
 * hedged in group 1), and the liquidation parameters. Every number is a parameter with §13's
 * value as its default.
 */
export const marketsModule: (assets: AssetsModule) => ReturnType<typeof build> = perAssets(build);
