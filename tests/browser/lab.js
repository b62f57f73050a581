// Helpers installed into the JupyterLab page as window.__rtlab (see test_browser_lab.py).
// They drive one notebook at a time through the JupyterLab application object
// (window.jupyterapp, exposed with --LabApp.expose_app_in_browser=True).
(() => {
  const app = window.jupyterapp;
  const selfOrInside = (el, sel) => (el.matches(sel) ? el : el.querySelector(sel));

  window.__rtlab = {
    w: null,
    runSent: 0,

    async open(path) {
      const w = await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
      await w.context.ready;
      app.shell.activateById(w.id);
      this.w = w;
      this.runSent = 0;
      return w.id;
    },

    // What the status bar shows ("Idle", "Busy", ...), lower-cased, and what blocks it.
    kernel() {
      const sc = this.w.sessionContext;
      const kernel = sc.session && sc.session.kernel;
      return {
        display: String(sc.kernelDisplayStatus || ''),
        status: kernel ? kernel.status : 'none',
        name: kernel ? kernel.name : null,
        dialog: Array.from(document.querySelectorAll('.jp-Dialog'))
          .map((d) => d.textContent.trim().slice(0, 300)),
      };
    },

    acceptDialog() {
      const button = document.querySelector('.jp-Dialog .jp-mod-accept');
      if (button) button.click();
      return !!button;
    },

    codeCells() {
      return this.w.content.widgets.filter(
        (c) => c.model.type === 'code' && c.model.sharedModel.getSource().trim() !== ''
      );
    },

    // Clear outputs and execution counts (committed notebooks keep their counts).
    async clear() {
      app.shell.activateById(this.w.id);
      await app.commands.execute('notebook:clear-all-cell-outputs');
      for (const c of this.w.content.widgets) {
        if (c.model.type === 'code') c.model.executionCount = null;
      }
    },

    runAll() {
      app.shell.activateById(this.w.id);
      this.runSent += 1;
      // Not awaited: the test polls state() with its own deadline.
      app.commands.execute('notebook:run-all-cells').catch((e) => {
        this.runError = String(e);
      });
      return this.runSent;
    },

    state() {
      const code = this.codeCells();
      const errors = [];
      this.w.content.widgets.forEach((c, i) => {
        if (c.model.type !== 'code') return;
        for (const o of c.model.outputs.toJSON()) {
          if (o.output_type === 'error') {
            errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
          } else if (o.output_type === 'stream' && o.name === 'stderr') {
            const text = Array.isArray(o.text) ? o.text.join('') : String(o.text);
            if (text.includes('Traceback')) errors.push(`cell ${i} stderr:\n${text.slice(-1500)}`);
          }
        }
      });
      const sel = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
      for (const el of this.w.node.querySelectorAll(sel)) {
        if (el.textContent.includes('Traceback') && !errors.length) {
          errors.push(`stderr output: ${el.textContent.slice(-1500)}`);
        }
      }
      for (const el of this.w.node.querySelectorAll('.jp-OutputArea-output')) {
        if (el.textContent.includes('Error displaying widget')) {
          errors.push(`widget failed to render: ${el.textContent.slice(0, 300)}`);
        }
      }
      const k = this.kernel();
      return {
        ...k,
        code: code.length,
        counted: code.filter((c) => c.model.executionCount !== null).length,
        running: code.filter((c) => c.model.executionState === 'running').length,
        // Run All queues every cell as "running" ([*]); the first one is the one executing.
        executing: this.w.content.widgets
          .map((c, i) => [c, i])
          .filter(([c]) => c.model.type === 'code' && c.model.executionState === 'running')
          .slice(0, 1)
          .map(([c, i]) => `cell ${i}: ${c.model.sharedModel.getSource().split('\n')[0].slice(0, 80)}`),
        errors,
        runError: this.runError || null,
      };
    },

    pills() {
      return Array.from(this.w.node.querySelectorAll('.rtlab-statuspill')).map((el) => {
        const s = selfOrInside(el, '[data-state]');
        return { state: s ? s.getAttribute('data-state') : null, text: el.textContent.trim() };
      });
    },

    counts() {
      return Array.from(this.w.node.querySelectorAll('.rtlab-messagelist'))
        .map((el) => selfOrInside(el, '[data-count]'))
        .filter((el) => el)
        .map((el) => Number(el.getAttribute('data-count')));
    },

    reveal() {
      const el = this.w.node.querySelector('.rtlab-statuspill, .rtlab-messagelist');
      if (el) el.scrollIntoView({ block: 'center' });
    },

    async close() {
      const w = this.w;
      if (!w) return;
      this.w = null;
      try {
        await w.sessionContext.shutdown();
      } finally {
        w.context.model.dirty = false;
        w.dispose();
      }
    },
  };
  return true;
})();
