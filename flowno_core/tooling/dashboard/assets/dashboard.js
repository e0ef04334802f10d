// flowno_core dashboard: draws each flow's graph from the server's layout and keeps its counters
// current from the /events stream (server-sent events: "graph", "state", "end").
// Every piece of text from the server goes through textContent, never through HTML.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const flows = new Map();   // flow id -> {section, svg, nodes: Map(node id -> {group, fields, row})}
  let lastState = null;

  function el(name, attrs, text) {
    const node = document.createElement(name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svgEl(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function generationText(generation) {
    return generation === null || generation === undefined ? "-" : generation.join(".");
  }

  function phaseClass(phase) {
    return "phase-" + String(phase).replace(/[^a-z0-9]+/gi, "-");
  }

  // Where edges leave and enter boxes: spread over the box's side, in the order of the far ends.
  function anchors(graph, boxes) {
    const outs = new Map(), ins = new Map();
    graph.edges.forEach((edge, index) => {
      if (edge.back || edge.source === edge.target) return;
      if (!outs.has(edge.source)) outs.set(edge.source, []);
      if (!ins.has(edge.target)) ins.set(edge.target, []);
      outs.get(edge.source).push(index);
      ins.get(edge.target).push(index);
    });
    const start = new Map(), end = new Map();
    const spread = (table, result, far) => {
      for (const [id, indexes] of table) {
        const box = boxes.get(id);
        indexes.sort((a, b) => boxes.get(far(graph.edges[a])).y - boxes.get(far(graph.edges[b])).y);
        indexes.forEach((edgeIndex, i) => result.set(edgeIndex, box.y + box.height * (i + 1) / (indexes.length + 1)));
      }
    };
    spread(outs, start, (edge) => edge.target);
    spread(ins, end, (edge) => edge.source);
    return { start, end };
  }

  function edgePath(edge, index, boxes, ends, bottom) {
    const s = boxes.get(edge.source), t = boxes.get(edge.target);
    if (edge.source === edge.target) {
      const x = s.x + s.width, y = s.y;
      return `M ${x} ${y + s.height * 0.3} C ${x + 40} ${y - 16}, ${x + 40} ${y + s.height + 16}, ${x} ${y + s.height * 0.7}`;
    }
    if (edge.back) {  // closes a cycle: leave from the bottom, run below the graph, come back up
      const sx = s.x + s.width / 2, tx = t.x + t.width / 2;
      return `M ${sx} ${s.y + s.height} C ${sx} ${bottom}, ${tx} ${bottom}, ${tx} ${t.y + t.height}`;
    }
    const sx = s.x + s.width, sy = ends.start.get(index), tx = t.x, ty = ends.end.get(index);
    const bend = Math.max(24, (tx - sx) / 2);
    return `M ${sx} ${sy} C ${sx + bend} ${sy}, ${tx - bend} ${ty}, ${tx} ${ty}`;
  }

  function drawGraph(graph) {
    const width = Math.max(graph.width, 200), height = Math.max(graph.height, 80);
    const svg = svgEl("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `graph of ${graph.name}` });
    const defs = svgEl("defs");
    const marker = svgEl("marker", { id: `arrow-${graph.id}`, viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    const boxes = new Map(graph.nodes.map((node) => [node.id, node]));
    const ends = anchors(graph, boxes);
    const bottom = graph.height - 8;
    graph.edges.forEach((edge, index) => {
      const classes = ["edge"];
      if (edge.streaming) classes.push("streaming");
      if (edge.back) classes.push("back");
      const path = svgEl("path", { d: edgePath(edge, index, boxes, ends, bottom), class: classes.join(" "),
        "marker-end": `url(#arrow-${graph.id})` });
      const from = boxes.get(edge.source).label, to = boxes.get(edge.target).label;
      path.appendChild(svgEl("title", {}, `${from} -> ${to} (input '${edge.port}'${edge.streaming ? ", streaming" : ""})`));
      svg.appendChild(path);
      if (!edge.back && edge.source !== edge.target) {
        const target = boxes.get(edge.target);
        svg.appendChild(svgEl("text", { x: target.x - 4, y: ends.end.get(index) - 3, class: "port", "text-anchor": "end" }, edge.port));
      }
    });
    const nodes = new Map();
    for (const node of graph.nodes) {
      const group = svgEl("g", { class: "node phase-idle", "data-node": node.id, "data-label": node.label,
        transform: `translate(${node.x} ${node.y})` });
      group.appendChild(svgEl("title", {}, `${node.label}: a ${node.kind} node`));
      group.appendChild(svgEl("rect", { width: node.width, height: node.height, rx: 6, ry: 6 }));
      group.appendChild(svgEl("text", { x: 8, y: 17, class: "label" }, node.label));
      const status = svgEl("text", { x: 8, y: 34, class: "status" });
      const counts = svgEl("text", { x: 8, y: 50, class: "counts" });
      const fields = {};
      const field = (parent, name, initial) => {
        const span = svgEl("tspan", { "data-field": name }, initial);
        parent.appendChild(span);
        fields[name] = span;
      };
      field(status, "phase", "idle");
      status.appendChild(svgEl("tspan", {}, " \u00b7 gen "));
      field(status, "generation", "-");
      field(counts, "evaluations", "0");
      counts.appendChild(svgEl("tspan", {}, " evals \u00b7 "));
      field(counts, "chunks", "0");
      counts.appendChild(svgEl("tspan", {}, " chunks \u00b7 "));
      field(counts, "rate", "0");
      counts.appendChild(svgEl("tspan", {}, "/s"));
      group.appendChild(status);
      group.appendChild(counts);
      svg.appendChild(group);
      nodes.set(node.id, { group, fields, row: null });
    }
    return { svg, nodes };
  }

  function showGraph(data) {
    const main = document.getElementById("flows");
    document.getElementById("waiting").hidden = data.flows.length > 0;
    for (const graph of data.flows) {
      let entry = flows.get(graph.id);
      if (!entry) {
        const section = el("section", { class: "flow", id: `flow-${graph.id}` });
        const title = el("h2");
        title.appendChild(el("span", { class: "name" }, graph.name));
        title.appendChild(document.createTextNode(" "));
        title.appendChild(el("span", { class: "run" }, "ready"));
        title.appendChild(document.createTextNode(" "));
        title.appendChild(el("span", { class: "runs" }));
        section.appendChild(title);
        section.appendChild(el("div", { class: "graph" }));
        const table = el("table", { class: "nodes" });
        const head = el("tr");
        for (const name of ["node", "phase", "generation", "evaluations", "failed", "chunks", "chunks/s"]) {
          head.appendChild(el("th", { scope: "col" }, name));
        }
        table.appendChild(el("thead")).appendChild(head);
        table.appendChild(el("tbody"));
        section.appendChild(table);
        main.appendChild(section);
        entry = { section, nodes: new Map() };
        flows.set(graph.id, entry);
      }
      const drawn = drawGraph(graph);
      const holder = entry.section.querySelector(".graph");
      holder.replaceChildren(drawn.svg);
      const body = entry.section.querySelector("tbody");
      body.replaceChildren();
      for (const node of graph.nodes) {
        const row = el("tr", { "data-node": node.id });
        const cells = {};
        for (const name of ["label", "phase", "generation", "evaluations", "failed", "chunks", "rate"]) {
          cells[name] = row.appendChild(el("td", { class: name, "data-field": name }, name === "label" ? node.label : ""));
        }
        body.appendChild(row);
        drawn.nodes.get(node.id).row = cells;
      }
      entry.nodes = drawn.nodes;
    }
    if (lastState) showState(lastState);
  }

  function showState(state) {
    lastState = state;
    for (const flow of state.flows) {
      const entry = flows.get(flow.id);
      if (!entry) continue;
      const run = entry.section.querySelector(".run");
      run.textContent = flow.run;
      run.className = "run " + String(flow.run).replace(/[^a-z0-9]+/gi, "-");
      entry.section.querySelector(".runs").textContent = flow.runs ? `run ${flow.runs}` : "";
      for (const node of flow.nodes) {
        const shown = entry.nodes.get(node.id);
        if (!shown) continue;
        const values = {
          phase: node.phase,
          generation: generationText(node.generation),
          evaluations: String(node.evaluations),
          failed: String(node.failed),
          chunks: String(node.chunks),
          rate: node.chunks_per_second.toFixed(1),
        };
        shown.group.setAttribute("class", `node ${phaseClass(node.phase)}${node.failed ? " has-failures" : ""}`);
        for (const [name, span] of Object.entries(shown.fields)) span.textContent = values[name];
        if (shown.row) {
          for (const [name, cell] of Object.entries(shown.row)) {
            if (name !== "label") cell.textContent = values[name];
          }
          shown.row.failed.className = node.failed ? "failed failed-some" : "failed";
        }
      }
    }
    const list = document.getElementById("errors");
    list.replaceChildren();
    if (!state.errors.length) list.appendChild(el("li", { class: "none" }, "none so far"));
    for (const error of state.errors.slice().reverse()) {
      const when = new Date(error.time * 1000).toLocaleTimeString();
      list.appendChild(el("li", {}, `${when}  ${error.node} at generation ${generationText(error.generation)}: ${error.error}`));
    }
    document.getElementById("updated").textContent = "updated " + new Date(state.time * 1000).toLocaleTimeString();
  }

  function connection(text, kind) {
    const badge = document.getElementById("connection");
    badge.textContent = text;
    badge.className = "connection " + kind;
  }

  function connect() {
    const events = new EventSource("/events");
    events.onopen = () => connection("live", "live");
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) connection("reconnecting", "lost");
    };
    events.addEventListener("graph", (event) => showGraph(JSON.parse(event.data)));
    events.addEventListener("state", (event) => showState(JSON.parse(event.data)));
    events.addEventListener("end", () => {
      events.close();
      connection("dashboard stopped: showing the last state", "ended");
    });
  }

  connect();
})();
