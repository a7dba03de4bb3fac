#!/usr/bin/env node
// Validate Adaptive Cards (schema 1.5, the version Microsoft Teams renders) offline with the
// official Adaptive Cards JS SDK, plus a few checks the SDK does not make.
//
// stdin:  a JSON array of cards (objects).
// stdout: a JSON array, same order, of arrays of problem strings ("error: ..." / "warning: ...");
//         an empty array means the card is valid.
// Exit 0 whenever it ran (even if cards are invalid); exit 2 on bad input or tool failure.
"use strict";

// The package's ESM "main" does not load on Node 20; the UMD bundle does, and needs no DOM.
const AC = require("adaptivecards/dist/adaptivecards.js");

const TARGET = { major: 1, minor: 5 };
const TARGET_VERSION = AC.Versions.v1_5;

// The SDK's events carry no severity. These ones are advice, everything else is an error.
const WARNING_EVENTS = new Set([
  AC.ValidationEvent.Hint,
  AC.ValidationEvent.Deprecated,
  AC.ValidationEvent.RequiredInputsShouldHaveLabel,
  AC.ValidationEvent.RequiredInputsShouldHaveErrorMessage,
]);

// Properties that hold lists of card objects; the SDK silently ignores them when not arrays.
const LIST_KEYS = ["body", "actions", "items", "columns", "facts", "images", "rows", "cells"];

function sdkProblems(card) {
  const problems = [];
  const report = (ev) => {
    const level = WARNING_EVENTS.has(ev.event) ? "warning" : "error";
    const name = AC.ValidationEvent[ev.event] ?? String(ev.event);
    problems.push(`${level}: ${ev.message} [${name}]`);
  };
  const ac = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(TARGET_VERSION);
  ac.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) {
    report(context.getEventAt(i));
  }
  for (const ev of ac.validateProperties().validationEvents) {
    report(ev);
  }
  return problems;
}

function isBlank(value) {
  return typeof value !== "string" || value.trim() === "";
}

// Checks the SDK misses: missing card type/version, version above 1.5, TextBlock without text,
// Image without url, list properties that are not arrays.
function ownProblems(card) {
  const problems = [];
  if (card.type === undefined) {
    problems.push('error: card "type" is missing; it must be "AdaptiveCard" [MissingCardType]');
  }
  const version = card.version;
  if (version === undefined) {
    problems.push('error: card "version" is missing; use "1.5" [MissingCardVersion]');
  } else {
    const m = typeof version === "string" ? /^(\d+)\.(\d+)$/.exec(version) : null;
    if (!m) {
      problems.push(
        `error: card "version" must be a string like "1.5", got ${JSON.stringify(version)} [InvalidCardVersion]`,
      );
    } else {
      const [major, minor] = [Number(m[1]), Number(m[2])];
      if (major > TARGET.major || (major === TARGET.major && minor > TARGET.minor)) {
        problems.push(
          `error: card version ${version} is above ${TARGET.major}.${TARGET.minor}, the highest Teams renders [UnsupportedCardVersion]`,
        );
      }
    }
  }

  const walk = (node, path) => {
    if (Array.isArray(node)) {
      node.forEach((child, i) => walk(child, `${path}[${i}]`));
      return;
    }
    if (node === null || typeof node !== "object") {
      return;
    }
    const where = path || "card";
    if (node.type === "TextBlock" && isBlank(node.text)) {
      problems.push(`error: TextBlock at ${where} has no text [MissingText]`);
    }
    if (node.type === "Image" && isBlank(node.url)) {
      problems.push(`error: Image at ${where} has no url [MissingUrl]`);
    }
    for (const key of LIST_KEYS) {
      if (key in node && !Array.isArray(node[key])) {
        problems.push(`error: "${key}" at ${where} must be an array [InvalidPropertyValue]`);
      }
    }
    const isAction = typeof node.type === "string" && node.type.startsWith("Action.");
    for (const [key, child] of Object.entries(node)) {
      // Action data is the bot's own payload, not card content.
      if (isAction && key === "data") {
        continue;
      }
      walk(child, path ? `${path}.${key}` : key);
    }
  };
  walk(card, "");
  return problems;
}

function checkCard(card) {
  if (card === null || typeof card !== "object" || Array.isArray(card)) {
    return [`error: card must be a JSON object, got ${card === null ? "null" : typeof card}`];
  }
  let problems;
  try {
    problems = sdkProblems(card);
  } catch (err) {
    problems = [`error: adaptivecards SDK threw while checking the card: ${err && err.message}`];
  }
  return problems.concat(ownProblems(card));
}

function main() {
  let input = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => {
    input += chunk;
  });
  process.stdin.on("end", () => {
    let cards;
    try {
      cards = JSON.parse(input);
    } catch (err) {
      process.stderr.write(`cardcheck: stdin is not valid JSON: ${err.message}\n`);
      process.exit(2);
    }
    if (!Array.isArray(cards)) {
      process.stderr.write("cardcheck: stdin must be a JSON array of cards\n");
      process.exit(2);
    }
    // Keep stdout pure JSON even if the SDK logs something.
    console.log = console.info = console.warn = console.debug = console.error;
    const results = cards.map(checkCard);
    process.stdout.write(JSON.stringify(results) + "\n");
  });
}

main();
