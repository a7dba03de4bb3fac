#!/usr/bin/env node
// Render Adaptive Cards to PNG with the official Adaptive Cards JS renderer in headless Chromium,
// styled like Microsoft Teams, and report per card its size and every problem seen.
//
// usage:  node render.js <input.json> <outdir>
// input:  {"width": 600, "maxWidth": 600, "maxHeight": 3000, "cards": [
//            {"name": "answer/pcns-6025/en", "file": "answer_pcns-6025_en.png", "card": {...}}]}
// output: <outdir>/<file> per card and <outdir>/report.json:
//         {"browser", "font", "width", "maxWidth", "maxHeight", "seconds",
//          "cards": [{"name", "file", "width", "height", "errors": [...], "warnings": [...]}]}
// exit:   0 every card rendered cleanly, 1 some card has errors, 2 the tool itself failed.
//
// One browser renders every card, one after the other, in one page. Chromium is Debian's
// (/usr/bin/chromium, or $CHROMIUM); playwright-core never downloads a browser.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Offline and quiet: no GPU, no QUIC, no first-run, sync, update or background traffic.
// Playwright adds --headless and a fresh temporary --user-data-dir that it deletes on close.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const IMAGE_TIMEOUT_MS = 10000;
// Loaded into the page from this tool's node_modules (markdown-it's "exports" hide these paths).
const PAGE_SCRIPTS = [
  "markdown-it/dist/browser/markdown-it.umd.min.js",
  "adaptivecards/dist/adaptivecards.min.js",
];

// Teams' fonts: Segoe UI on Windows, the system UI font elsewhere. Where none of them is installed
// (a Debian build machine) the fallbacks are wider than Segoe UI: heights err on the tall side.
const FONT_FAMILIES = [
  "Segoe UI",
  "Segoe UI Web (West European)",
  "-apple-system",
  "BlinkMacSystemFont",
  "Roboto",
  "Helvetica Neue",
  "Liberation Sans",
  "Arial",
  "DejaVu Sans",
];
const quoteFamily = (f) => (f.startsWith("-") ? f : `'${f}'`);
const FONT_STACK = [...FONT_FAMILIES.map(quoteFamily), "sans-serif"].join(", ");

// Teams (light theme) as a host: the values of Microsoft's published Teams host config sample
// (AdaptiveCards repo, samples/HostConfig/microsoft-teams-light.json): 16 px padding, spacing
// 8/12/16/20/24, font sizes 12/14/14/18/24, weights 200/400/600, accent #6264A7, at most 6
// actions per set, buttons side by side 8 px apart, no custom container styles.
function teamsForeground() {
  return {
    default: { default: "#252424", subtle: "#bf252424" },
    dark: { default: "#252424", subtle: "#bf252424" },
    light: { default: "#ffffff", subtle: "#fff3f2f1" },
    accent: { default: "#6264a7", subtle: "#8b8cc7" },
    good: { default: "#92c353", subtle: "#e592c353" },
    warning: { default: "#f8d22a", subtle: "#e5f8d22a" },
    attention: { default: "#c4314b", subtle: "#e5c4314b" },
  };
}

const HOST_CONFIG = {
  supportsInteractivity: true,
  spacing: { small: 8, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  separator: { lineThickness: 1, lineColor: "#eeeeee" },
  imageSizes: { small: 32, medium: 52, large: 100 },
  fontTypes: {
    default: {
      fontFamily: FONT_STACK,
      fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 200, default: 400, bolder: 600 },
    },
    monospace: {
      fontFamily: "Consolas, 'Courier New', 'DejaVu Sans Mono', monospace",
      fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
      fontWeights: { lighter: 200, default: 400, bolder: 600 },
    },
  },
  containerStyles: {
    default: { backgroundColor: "#ffffff", foregroundColors: teamsForeground() },
    emphasis: { backgroundColor: "#f9f8f7", foregroundColors: teamsForeground() },
    accent: { backgroundColor: "#c7def9", foregroundColors: teamsForeground() },
    good: { backgroundColor: "#ccffcc", foregroundColors: teamsForeground() },
    attention: { backgroundColor: "#ffc5b2", foregroundColors: teamsForeground() },
    warning: { backgroundColor: "#ffe2b2", foregroundColors: teamsForeground() },
  },
  actions: {
    maxActions: 6,
    spacing: "default",
    buttonSpacing: 8,
    showCard: { actionMode: "inline", inlineTopMargin: 16, style: "emphasis" },
    preExpandSingleShowCardAction: false,
    actionsOrientation: "horizontal",
    actionAlignment: "left",
  },
  adaptiveCard: { allowCustomStyle: false },
  imageSet: { imageSize: "medium", maxImageHeight: 100 },
  factSet: {
    title: { size: "default", color: "default", isSubtle: false, weight: "bolder", wrap: true },
    value: { size: "default", color: "default", isSubtle: false, weight: "default", wrap: true },
    spacing: 16,
  },
};

// Teams' buttons and links (light theme). The renderer draws the card; this is the host's chrome.
function pageHtml(width) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><style>
  html, body { margin: 0; background: #f5f5f5; }
  body { padding: 16px; font-family: ${FONT_STACK}; }
  #host { width: ${width}px; }
  #host > .ac-adaptiveCard {
    box-sizing: border-box; border: 1px solid #e1dfdd; border-radius: 4px;
  }
  .ac-pushButton {
    box-sizing: border-box; height: 32px; padding: 0 12px; border: 1px solid #d1d1d1;
    border-radius: 4px; background: #ffffff; color: #242424; font: 600 14px ${FONT_STACK};
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer;
  }
  .ac-pushButton.style-positive { background: #6264a7; border-color: #6264a7; color: #ffffff; }
  .ac-pushButton.style-destructive { color: #c4314b; }
  .ac-textBlock a, .ac-richTextBlock a { color: #6264a7; text-decoration: none; }
  .ac-textBlock ol, .ac-textBlock ul { box-sizing: border-box; margin: 0; padding-left: 24px; }
  .ac-textBlock p { margin: 0; }
</style></head><body><div id="host"></div></body></html>`;
}

// Runs in the page. Teams' card Markdown is a subset (bold, italic, lists, links; no headings,
// tables, images, code or quotes), so markdown-it starts from nothing and gets just those.
function setUpPage({ hostConfigJson, fontFamilies }) {
  const AC = window.AdaptiveCards;
  const md = window.markdownit("zero").enable(["list", "emphasis", "link", "escape", "entity"]);
  AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = md.render(text);
    result.didProcess = true;
  };
  const hostConfig = new AC.HostConfig(hostConfigJson);

  window.renderCard = (json) => {
    const errors = [];
    const host = document.getElementById("host");
    host.replaceChildren();
    window.cardImages = [];
    const card = new AC.AdaptiveCard();
    card.hostConfig = hostConfig;
    const context = new AC.SerializationContext(AC.Versions.v1_5);
    const describe = (ev) => `${AC.ValidationEvent[ev.event] ?? ev.event}: ${ev.message}`;
    try {
      card.parse(json, context);
      for (let i = 0; i < context.eventCount; i++) {
        errors.push(`parse: ${describe(context.getEventAt(i))}`);
      }
      for (const ev of card.validateProperties().validationEvents) {
        errors.push(`validation: ${describe(ev)}`);
      }
    } catch (err) {
      errors.push(`parse: the renderer threw: ${err && err.message}`);
      return errors;
    }
    let element;
    try {
      element = card.render();
    } catch (err) {
      errors.push(`render: the renderer threw: ${err && err.message}`);
      return errors;
    }
    if (!element) {
      errors.push("render: the renderer produced nothing");
      return errors;
    }
    host.appendChild(element);
    // Kept now: the renderer takes an image that fails to load out of the card.
    window.cardImages = [...host.querySelectorAll("img")];
    return errors;
  };

  window.waitForImages = async (timeoutMs) => {
    const images = window.cardImages || [];
    window.cardImages = [];
    const settle = (img) =>
      img.complete
        ? Promise.resolve()
        : new Promise((resolve) => {
            img.addEventListener("load", resolve, { once: true });
            img.addEventListener("error", resolve, { once: true });
          });
    const timeout = new Promise((resolve) => setTimeout(resolve, timeoutMs));
    await Promise.race([Promise.all(images.map(settle)), timeout]);
    return images
      .filter((img) => !img.complete || img.naturalWidth === 0)
      .map((img) => `image: did not load: ${img.src.slice(0, 200)}`);
  };

  // Size of everything drawn, not only of the card's box: content pushed out of a clipped box
  // still counts, so a too-wide column or button row shows up as a too-wide card.
  window.measureCard = () => {
    const root = document.querySelector("#host > *");
    if (!root) {
      return { width: 0, height: 0, warnings: [] };
    }
    const box = root.getBoundingClientRect();
    let right = box.right;
    let bottom = box.bottom;
    const warnings = [];
    for (const el of root.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        right = Math.max(right, r.right);
        bottom = Math.max(bottom, r.bottom);
      }
      const style = getComputedStyle(el);
      // Teams never wraps a button title: it cuts it off with an ellipsis, as the renderer does.
      const clips = style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1;
      if (clips && el.textContent.trim()) {
        const text = el.textContent.trim().replace(/\s+/g, " ").slice(0, 80);
        const what = el.closest("button") ? "button title" : "text";
        const room = `needs ${el.scrollWidth} px, has ${el.clientWidth} px`;
        warnings.push(`layout: ${what} cut off (${room}): "${text}"`);
      }
    }
    return {
      width: Math.ceil(Math.max(right - box.left, root.scrollWidth)),
      height: Math.ceil(Math.max(bottom - box.top, root.scrollHeight)),
      warnings: [...new Set(warnings)],
    };
  };

  // The first family of the stack that is installed, to say which font the PNGs show.
  window.renderedFont = () => {
    const probe = "MIM Sync 6025 stopped-connectivity ÆØÅ æøå";
    const ctx = document.createElement("canvas").getContext("2d");
    const widthIn = (family) => {
      ctx.font = `14px ${family}`;
      return ctx.measureText(probe).width;
    };
    for (const generic of ["monospace", "serif"]) {
      const found = fontFamilies.find((f) => {
        const quoted = f.startsWith("-") ? f : `'${f}'`;
        return widthIn(`${quoted}, ${generic}`) !== widthIn(generic);
      });
      if (found) {
        return found;
      }
    }
    return "sans-serif";
  };
}

function readInput(file) {
  const input = JSON.parse(fs.readFileSync(file, "utf8"));
  const { width, maxWidth, maxHeight, cards } = input;
  if (![width, maxWidth, maxHeight].every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error("width, maxWidth and maxHeight must be positive integers");
  }
  if (!Array.isArray(cards)) {
    throw new Error('"cards" must be an array of {name, file, card}');
  }
  for (const c of cards) {
    const fileOk = typeof c.file === "string" && /^[\w.-]+\.png$/.test(c.file);
    if (typeof c.name !== "string" || !fileOk) {
      throw new Error(`bad card entry: ${JSON.stringify(c).slice(0, 200)}`);
    }
  }
  return input;
}

async function renderAll(input, outDir) {
  const started = Date.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({
      viewport: { width: input.width + 32, height: 1000 },
      deviceScaleFactor: 1,
    });
    let current = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") {
        current.push(`console: ${msg.text()}`);
      }
    });
    page.on("pageerror", (err) => current.push(`page: ${err.message}`));
    page.on("requestfailed", (req) => current.push(`request failed: ${req.url().slice(0, 200)}`));

    await page.setContent(pageHtml(input.width));
    for (const script of PAGE_SCRIPTS) {
      await page.addScriptTag({ path: path.join(__dirname, "node_modules", script) });
    }
    await page.evaluate(setUpPage, { hostConfigJson: HOST_CONFIG, fontFamilies: FONT_FAMILIES });
    if (current.length) {
      throw new Error(`the preview page did not load cleanly: ${current.join("; ")}`);
    }

    const results = [];
    for (const entry of input.cards) {
      const errors = [];
      const warnings = [];
      current = errors;
      const result = { name: entry.name, file: entry.file, width: 0, height: 0, errors, warnings };
      errors.push(...(await page.evaluate((card) => window.renderCard(card), entry.card)));
      errors.push(...(await page.evaluate((ms) => window.waitForImages(ms), IMAGE_TIMEOUT_MS)));
      const size = await page.evaluate(() => window.measureCard());
      result.width = size.width;
      result.height = size.height;
      warnings.push(...size.warnings);
      if (size.width > input.maxWidth) {
        errors.push(`size: ${size.width} px wide, more than the ${input.maxWidth} px limit`);
      }
      if (size.height > input.maxHeight) {
        errors.push(`size: ${size.height} px tall, more than the ${input.maxHeight} px limit`);
      }
      const root = page.locator("#host > *");
      if ((await root.count()) === 1) {
        await root.screenshot({ path: path.join(outDir, entry.file), animations: "disabled" });
      } else {
        errors.push("screenshot: nothing was rendered to take a picture of");
      }
      results.push(result);
      const status = errors.length ? "FAIL" : "ok  ";
      process.stderr.write(`${status} ${entry.name} ${size.width}x${size.height}\n`);
    }
    const font = await page.evaluate(() => window.renderedFont());
    current = [];
    return {
      browser: `Chromium ${browser.version()}`,
      font,
      width: input.width,
      maxWidth: input.maxWidth,
      maxHeight: input.maxHeight,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      cards: results,
    };
  } finally {
    await browser.close();
  }
}

async function main() {
  const [inputFile, outDir] = process.argv.slice(2);
  if (!inputFile || !outDir) {
    process.stderr.write("usage: node render.js <input.json> <outdir>\n");
    process.exit(2);
  }
  let report;
  try {
    const input = readInput(inputFile);
    fs.mkdirSync(outDir, { recursive: true });
    report = await renderAll(input, outDir);
  } catch (err) {
    process.stderr.write(`render.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  }
  fs.writeFileSync(path.join(outDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
  process.exit(report.cards.some((c) => c.errors.length) ? 1 : 0);
}

if (require.main === module) {
  main();
}

module.exports = { HOST_CONFIG, pageHtml, setUpPage, renderAll };
