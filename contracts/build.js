#!/usr/bin/env node
// Compiles Solidity with the pinned solc (npm solc@0.8.28, installed by scripts/setup.sh into
// build/tools/node_modules) and writes one artifact per contract: <out>/<Name>.json =
// {"contractName", "sourceName", "abi", "bytecode": "0x…", "deployedBytecode": "0x…"}.
//
// Usage: node contracts/build.js [--out DIR] [--include DIR]... [FILE.sol]...
//   default files: contracts/src/*.sol; default out: build/contracts (relative to the repository)
//   --include DIR: where imports are looked up (contracts/src is always searched)
//   NOX_SOLC=DIR overrides where the solc package is loaded from.
// Settings: evmVersion cancun (EIP-1153 transient storage), optimizer on (200 runs).
// Warnings are printed; any error exits 1 and writes nothing.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(__dirname, 'src');

function usage(msg) {
  if (msg) console.error('build.js: ' + msg);
  console.error('usage: node contracts/build.js [--out DIR] [--include DIR]... [FILE.sol]...');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { out: path.join(ROOT, 'build', 'contracts'), include: [SRC], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out' || a === '--include') {
      if (i + 1 >= argv.length) usage(a + ' needs a value');
      const v = path.resolve(argv[++i]);
      if (a === '--out') opts.out = v;
      else opts.include.push(v);
    } else if (a.startsWith('-')) {
      usage('unknown option ' + a);
    } else {
      opts.files.push(path.resolve(a));
    }
  }
  if (opts.files.length === 0) {
    opts.files = fs.readdirSync(SRC).filter((f) => f.endsWith('.sol')).sort().map((f) => path.join(SRC, f));
  }
  return opts;
}

function loadSolc() {
  const dir = process.env.NOX_SOLC || path.join(ROOT, 'build', 'tools', 'node_modules', 'solc');
  try {
    return require(dir);
  } catch (e) {
    console.error(`build.js: cannot load solc from ${dir} (run scripts/setup.sh): ${e.message}`);
    process.exit(1);
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadSolc();

  // Source unit names are paths relative to the first include directory that holds the file,
  // so `import "./Nox.sol"` means the same unit from contracts/src and from a test directory.
  const unitName = (file) => {
    for (const dir of opts.include) {
      const rel = path.relative(dir, file);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    }
    return path.basename(file);
  };
  const sources = {};
  for (const file of opts.files) {
    if (!fs.existsSync(file)) usage('no such file: ' + file);
    sources[unitName(file)] = { content: fs.readFileSync(file, 'utf8') };
  }
  const findImports = (name) => {
    for (const dir of opts.include) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return { contents: fs.readFileSync(p, 'utf8') };
    }
    return { error: `import not found: ${name} (searched ${opts.include.join(', ')})` };
  };

  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  let errors = 0;
  for (const d of output.errors || []) {
    if (d.severity === 'error') errors++;
    console.error((d.formattedMessage || d.message).trimEnd());
  }
  if (errors) {
    console.error(`build.js: ${errors} error(s); nothing written`);
    process.exit(1);
  }

  fs.mkdirSync(opts.out, { recursive: true });
  let n = 0;
  for (const source of Object.keys(sources)) {
    for (const [name, c] of Object.entries(output.contracts[source] || {})) {
      const artifact = {
        contractName: name,
        sourceName: source,
        compiler: 'solc ' + solc.version(),
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
      };
      const file = path.join(opts.out, name + '.json');
      const tmp = file + '.tmp';
      fs.writeFileSync(tmp, JSON.stringify(artifact, null, 1) + '\n');
      fs.renameSync(tmp, file);
      n++;
    }
  }
  console.log(`build.js: ${n} contract(s) from ${Object.keys(sources).length} file(s) -> ${opts.out}`);
}

main();
