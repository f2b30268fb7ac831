/**
 * `npm run fuzz -- --runs N --seed S [--steps K] [--path P] [--no-shrink]`: the long run of the
 * stateful model-based tests (test/Stateful.test.ts). N random sequences of up to K actions each
 * run against the real contracts and the reference model, every invariant checked after every
 * step. On a failure fast-check prints the seed, the path and the shrunk sequence of actions;
 * `--path` replays exactly that case, and the sequence belongs in the file's REGRESSIONS.
 */
import { spawn } from "node:child_process";
import path from "node:path";

interface Options {
  runs: number;
  seed: number;
  steps: number;
  path?: string;
  shrink: boolean;
}

const USAGE = "usage: npm run fuzz -- [--runs N] [--seed S] [--steps K] [--path P] [--no-shrink]";

function parse(argv: string[]): Options {
  const options: Options = { runs: 100, seed: Date.now() % 2 ** 31, steps: 150, shrink: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const integer = (name: string) => {
      const n = Number(value);
      if (value === undefined || !Number.isInteger(n) || n < 0) {
        throw new Error(`${name} needs a whole number, got ${value ?? "nothing"}\n${USAGE}`);
      }
      i++;
      return n;
    };
    if (flag === "--runs") options.runs = integer("--runs");
    else if (flag === "--seed") options.seed = integer("--seed");
    else if (flag === "--steps") options.steps = integer("--steps");
    else if (flag === "--path") {
      if (!value) throw new Error(`--path needs the path fast-check printed\n${USAGE}`);
      options.path = value;
      i++;
    } else if (flag === "--no-shrink") options.shrink = false;
    else if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return options;
}

function main() {
  let options: Options;
  try {
    options = parse(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const root = path.resolve(__dirname, "..");
  console.log(
    `fuzz: ${options.runs} sequences of up to ${options.steps} actions, seed ${options.seed}` +
      (options.path ? `, replaying path ${options.path}` : "") +
      (options.shrink ? "" : ", no shrinking"),
  );
  const started = Date.now();
  const child = spawn(
    "npx",
    ["hardhat", "test", "--no-compile", "test/Stateful.test.ts", "--grep", "random sequences"],
    {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        FC_SEED: String(options.seed),
        FC_STATEFUL_RUNS: String(options.runs),
        FC_STATEFUL_STEPS: String(options.steps),
        ...(options.path ? { FC_PATH: options.path } : {}),
        ...(options.shrink ? {} : { FC_SHRINK: "0" }),
      },
    },
  );
  child.on("exit", (code) => {
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    if (code === 0) console.log(`fuzz: passed in ${minutes} min (seed ${options.seed})`);
    else {
      console.error(
        `fuzz: FAILED after ${minutes} min. Replay: npm run fuzz -- --seed ${options.seed} --runs ${options.runs} ` +
          `--steps ${options.steps} --path <path printed above>; then add the shrunk sequence to REGRESSIONS in test/Stateful.test.ts`,
      );
    }
    process.exit(code ?? 1);
  });
}

main();
