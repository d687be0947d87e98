// The checks of challenge.yaml, run inside the rendered page by the screenshot stage.
// Called as an async function with a list of {type, name, spec}; returns one
// {name, type, passed, message} per check. no_console_errors is decided outside the page.
async (checks) => {
  const viewport = {width: window.innerWidth, height: window.innerHeight};
  const TOLERANCE = 1;

  function select(selector) {
    try {
      return {elements: Array.from(document.querySelectorAll(selector))};
    } catch (error) {
      return {error: `invalid selector ${JSON.stringify(selector)}`};
    }
  }

  function textOf(element) {
    // innerText is what a reader sees (HTML); SVG elements only have textContent
    const text = typeof element.innerText === "string" ? element.innerText : element.textContent;
    return text || "";
  }

  function valueOf(element, name) {
    const attribute = element.getAttribute(name);
    if (attribute !== null) return attribute;
    const style = window.getComputedStyle(element).getPropertyValue(name);
    return style === "" ? null : style.trim();
  }

  function show(value) {
    const text = JSON.stringify(value);
    return text.length > 80 ? text.slice(0, 77) + "..." : text;
  }

  const runners = {
    count(spec) {
      const found = select(spec.selector);
      if (found.error) return [false, found.error];
      const n = found.elements.length;
      const wants = [];
      let ok = true;
      if (spec.equals !== undefined) { wants.push(`exactly ${spec.equals}`); ok = ok && n === spec.equals; }
      if (spec.min !== undefined) { wants.push(`at least ${spec.min}`); ok = ok && n >= spec.min; }
      if (spec.max !== undefined) { wants.push(`at most ${spec.max}`); ok = ok && n <= spec.max; }
      return [ok, `${n} element(s) match ${spec.selector} (expected ${wants.join(" and ")})`];
    },

    text(spec) {
      const selector = spec.selector || "body";
      const found = select(selector);
      if (found.error) return [false, found.error];
      if (!found.elements.length) return [false, `no element matches ${selector}`];
      const fold = (s) => (spec.ignore_case ? s.toLowerCase() : s);
      const wanted = fold(spec.text);
      const hit = found.elements.some((element) => fold(textOf(element)).includes(wanted));
      return [hit, hit ? `found ${show(spec.text)} in ${selector}` : `${show(spec.text)} not found in the text of ${selector}`];
    },

    attribute(spec) {
      const found = select(spec.selector);
      if (found.error) return [false, found.error];
      const elements = found.elements;
      if (!elements.length) return [false, `no element matches ${spec.selector}`];
      const values = elements.map((element) => valueOf(element, spec.attribute));
      if (spec.distinct_min !== undefined) {
        const distinct = new Set(values.filter((v) => v !== null));
        const ok = distinct.size >= spec.distinct_min;
        return [ok, `${distinct.size} distinct value(s) of ${spec.attribute} on ${spec.selector} (expected at least ${spec.distinct_min})`];
      }
      let test;
      let wanted;
      if (spec.equals !== undefined) {
        test = (v) => v === spec.equals;
        wanted = `equal to ${show(spec.equals)}`;
      } else {
        let pattern;
        try { pattern = new RegExp(spec.matches); } catch (error) { return [false, `invalid pattern ${show(spec.matches)}`]; }
        test = (v) => pattern.test(v);
        wanted = `matching /${spec.matches}/`;
      }
      const bad = values.findIndex((v) => v === null || !test(v));
      if (bad >= 0) {
        return [false, `${spec.attribute} of ${spec.selector} #${bad + 1} of ${elements.length} is ${show(values[bad])}, expected ${wanted}`];
      }
      return [true, `${spec.attribute} of all ${elements.length} ${spec.selector} ${wanted}`];
    },

    in_viewport(spec) {
      const selector = spec.selector || "svg, canvas";
      const found = select(selector);
      if (found.error) return [false, found.error];
      if (!found.elements.length) return [false, `no element matches ${selector}`];
      // margin: pixels an element may reach past each edge (the body's default 8 px margin, say)
      const slack = TOLERANCE + (spec.margin || 0);
      const where = `the ${viewport.width}x${viewport.height} viewport` + (spec.margin ? ` (${spec.margin} px margin allowed)` : "");
      for (const [index, element] of found.elements.entries()) {
        const r = element.getBoundingClientRect();
        const inside = r.left >= -slack && r.top >= -slack &&
          r.right <= viewport.width + slack && r.bottom <= viewport.height + slack;
        if (!inside) {
          const box = [r.left, r.top, r.right, r.bottom].map((v) => Math.round(v));
          return [false, `${selector} #${index + 1} spans (${box.join(", ")}), outside ${where}`];
        }
      }
      return [true, `all ${found.elements.length} ${selector} inside ${where}`];
    },

    async script(spec) {
      let value;
      try {
        value = await (0, eval)(`(${spec.expr})`);
      } catch (error) {
        return [false, `threw ${String(error && error.message || error)}`];
      }
      return [Boolean(value), `evaluated to ${show(value === undefined ? "undefined" : value)}`];
    },
  };

  const results = [];
  for (const check of checks) {
    const run = runners[check.type];
    let passed = false;
    let message = `unknown check type ${check.type}`;
    if (run) {
      try {
        [passed, message] = await run(check.spec);
      } catch (error) {
        message = `check failed to run: ${String(error && error.message || error)}`;
      }
    }
    results.push({name: check.name, type: check.type, passed: Boolean(passed), message: String(message)});
  }
  return results;
}
