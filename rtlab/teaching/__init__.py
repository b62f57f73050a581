"""Helpers the notebooks teach with, not part of any transport.

* :mod:`rtlab.teaching.herd`: the thundering-herd experiment (many clients, one restart);
* :mod:`rtlab.teaching.sse_compare`: one byte stream read by the spec parser, httpx-sse
  and the chapter's parser, side by side;
* :mod:`rtlab.teaching.fresh_process`: a query answered in a brand-new Python process
  from the persistent cache alone.

They may use the chapter's ports (:mod:`rtlab.chapter`); the transports never do.
"""
