import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Local chains only: mintable ERC-20 tokens (USDC 6 decimals, WETH 18, WBTC 8) and settable
 * Chainlink-style feeds (8 decimals) of DESIGN §13. The feeds start at the `<feed>Answer`
 * parameters. Never deploy this to a public network: anyone can mint the tokens and move the
 * prices.
 */
export default buildModule("Mocks", (m) => {
  const usdc = m.contract("MockERC20", ["USD Coin", "USDC", 6], { id: "USDC" });
  const weth = m.contract("MockERC20", ["Wrapped Ether", "WETH", 18], { id: "WETH" });
  const wbtc = m.contract("MockERC20", ["Wrapped Bitcoin", "WBTC", 8], { id: "WBTC" });

  const feed = (id: string, description: string, defaultAnswer: bigint) =>
    m.contract("MockAggregator", [8, description, m.getParameter(`${id}Answer`, defaultAnswer)], { id });
  const usdcFeed = feed("usdcFeed", "USDC / USD", 100_000_000n);
  const ethFeed = feed("ethFeed", "ETH / USD", 300_000_000_000n);
  const btcFeed = feed("btcFeed", "BTC / USD", 6_000_000_000_000n);
  const stethFeed = feed("stethFeed", "STETH / USD", 299_000_000_000n);

  return { usdc, weth, wbtc, usdcFeed, ethFeed, btcFeed, stethFeed };
});
