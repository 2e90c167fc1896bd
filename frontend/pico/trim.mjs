// Drops the selectors that can never match the console's markup: those needing a class, an element
// or an attribute that no template, script or Python module writes (.striped, <hgroup>,
// [data-theme=dark], :host…). Only what is outside parentheses counts: whatever is inside :not(),
// :is() or :where() never makes a selector unusable, so those selectors are kept as they are.
// Anything in doubt is kept: a word found anywhere in the sources keeps every selector using it.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import browserslist from "browserslist";
import { browserslistToTargets, Features, transform } from "lightningcss";
import postcss from "postcss";

const [input, output, repo, dropList] = process.argv.slice(2);
// Everything that can write a class attribute: templates, the console's script, Python that renders.
const sources = [
  ["templates", /\.html$/],
  ["static/js", /\.js$/],
  ["metrics_ui", /\.py$/],
];
const markup = sources
  .flatMap(([folder, pattern]) =>
    readdirSync(`${repo}/${folder}`, { recursive: true })
      .filter((file) => pattern.test(file))
      .map((file) => readFileSync(`${repo}/${folder}/${file}`, "utf8")),
  )
  .join("\n");
const words = new Set(markup.match(/[A-Za-z][\w-]*/g));
// ARIA roles as written (role="group", setAttribute("role", "status"), {"role": "alert"}): the word
// alone is not enough, as class="switch" or type="search" would keep Pico's [role=switch] and
// [role=search] styles that nothing can match.
const roles = new Set(
  [...markup.matchAll(/\brole\s*=\s*["']?([\w-]+)|["']role["']\s*[:,]\s*["']([\w-]+)/g)].map((m) => m[1] ?? m[2]),
);
const tags = new Set([...markup.matchAll(/<([a-z][a-z0-9]*)/gi)].map((m) => m[1].toLowerCase()));
// Elements Django's form widgets and the browser write, whatever the templates say.
for (const tag of ["html", "head", "body", "input", "select", "option", "optgroup", "textarea", "label", "div", "ul", "li"]) {
  tags.add(tag);
}

// What a selector needs outside parentheses and brackets: its classes, elements and attributes.
function needs(selector) {
  const outside = topLevel(selector);
  const attributes = [...outside.matchAll(/\[([\w-]+)(?:[~|^$*]?=["']?([^\]"']*)["']?)?\]/g)];
  const bare = outside.replace(/\[[^\]]*\]/g, "[]");
  return {
    classes: bare.match(/\.-?[_a-zA-Z][\w-]*/g) ?? [],
    elements: [...bare.matchAll(/(?:^|[\s>+~])([a-z][a-z0-9]*)/g)].map((m) => m[1]),
    attributes: attributes.flatMap(([, name, value]) => (value ? [name, value] : [name])),
    roles: attributes.filter(([, name, value]) => name === "role" && value).map(([, , value]) => value),
    host: /(^|[\s>+~]):host/.test(bare),
  };
}

function unusable(selector) {
  const { classes, elements, attributes, roles: wanted, host } = needs(selector);
  return [
    ...(host ? [":host"] : []),
    ...classes.filter((name) => !words.has(name.slice(1))),
    ...elements.filter((name) => !tags.has(name)),
    ...attributes.filter((word) => /^[A-Za-z]/.test(word) && !words.has(word)).map((word) => `[${word}]`),
    ...wanted.filter((role) => !roles.has(role)).map((role) => `[role=${role}]`),
  ];
}

function topLevel(selector) {
  let depth = 0;
  let text = "";
  for (const char of selector) {
    if (char === "(") depth += 1;
    if (depth === 0) text += char;
    if (char === ")") depth -= 1;
  }
  return text;
}

const root = postcss.parse(readFileSync(input, "utf8"));
const dropped = new Set();
root.walkRules((rule) => {
  if (rule.parent?.type === "atrule" && /keyframes/.test(rule.parent.name)) return;
  const kept = rule.selectors.filter((selector) => {
    const unused = unusable(selector);
    unused.forEach((name) => dropped.add(name));
    return unused.length === 0;
  });
  if (kept.length === 0) rule.remove();
  else rule.selectors = kept;
});
root.walkAtRules((atRule) => {
  if (atRule.nodes && atRule.nodes.length === 0) atRule.remove();
});

// Then the custom properties nothing reads any more (the icons and colours of the dropped parts),
// until none is left: reads in the console's own stylesheets and templates count too.
const ownStyles = ["static/css", "templates"]
  .flatMap((folder) =>
    readdirSync(`${repo}/${folder}`, { recursive: true })
      .filter((file) => /\.(css|html)$/.test(file))
      .map((file) => readFileSync(`${repo}/${folder}/${file}`, "utf8")),
  )
  .join("\n");
for (let removed = 1; removed > 0; ) {
  const read = new Set([...(root.toString() + ownStyles).matchAll(/var\(\s*(--[\w-]+)/g)].map((m) => m[1]));
  removed = 0;
  root.walkDecls(/^--/, (decl) => {
    if (!read.has(decl.prop)) {
      decl.remove();
      removed += 1;
    }
  });
}
root.walkRules((rule) => {
  if (rule.nodes.length === 0) rule.remove();
});
root.walkAtRules((atRule) => {
  if (atRule.nodes && atRule.nodes.length === 0) atRule.remove();
});

// Then lightningcss minifies (shorter colours, merged rules) for the browsers Pico supports (its
// browserslist, "defaults"), keeping Pico's vendor prefixes as written and min-width media queries
// (older Safari lacks the shorter range syntax). It drops comments: Pico's licence is put back.
const licence = readFileSync(input, "utf8").match(/\/\*![\s\S]*?\*\//)[0];
const { code } = transform({
  filename: "pico.css",
  code: Buffer.from(root.toString()),
  minify: true,
  targets: browserslistToTargets(browserslist("defaults")),
  include: Features.MediaRangeSyntax,
  exclude: Features.VendorPrefixes,
});
writeFileSync(output, "\ufeff" + licence + code.toString().replace(/^\ufeff/, ""));
// Recorded next to this script, so a test can tell when a template starts using something dropped.
writeFileSync(dropList, [...dropped].sort().join("\n") + "\n");
console.error(`dropped selectors needing: ${[...dropped].sort().join(" ")}`);
