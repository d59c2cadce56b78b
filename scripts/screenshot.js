#!/usr/bin/env node
/*
 * Screenshot of a page in Debian's Chromium (the one the end-to-end tests drive):
 *
 *   node scripts/screenshot.js report/index.html docs/report-first-screen.png [--width 1280] [--height 900] [--full]
 *
 * Waits until every Plotly figure on the page has drawn. Used for the README's picture of the report.
 */
'use strict';

/* global document -- the callback of waitForFunction runs in the page. */
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { chromiumPath } = require('./prerequisites');

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h') || args.length < 2) {
    console.log('usage: node scripts/screenshot.js <page.html> <out.png> [--width 1280] [--height 900] [--full]');
    return args.includes('--help') || args.includes('-h') ? 0 : 2;
  }
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const [page, out] = args;
  if (!fs.existsSync(page)) {
    console.error(`screenshot: ${page} does not exist`);
    return 2;
  }
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const tab = await browser.newPage({
      viewport: { width: option('--width', 1280), height: option('--height', 900) },
      deviceScaleFactor: 1,
    });
    await tab.goto(`file://${path.resolve(page)}`);
    await tab.waitForFunction(() => [...document.querySelectorAll('.plot')].every((p) => p.querySelector('.main-svg')), undefined, {
      timeout: 60_000,
    });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await tab.screenshot({ path: out, fullPage: args.includes('--full') });
    console.log(`screenshot: ${out}`);
  } finally {
    await browser.close();
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`screenshot: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
