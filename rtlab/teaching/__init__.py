"""Helpers the notebooks teach with, not part of any transport.

* :mod:`rtlab.teaching.herd`: the thundering-herd experiment (many clients, one restart);
* :mod:`rtlab.teaching.sse_compare`: one byte stream read by the spec parser, httpx-sse
  and the chapter's parser, side by side;
* :mod:`rtlab.teaching.fresh_process`: a query answered in a brand-new Python process
  from the persistent cache alone;
* :mod:`rtlab.teaching.measure`, :mod:`rtlab.teaching.exchanges` and
  :mod:`rtlab.teaching.compression`: what an optimisation saves (round trips, bytes, time,
  CPU), the requests a link chain sent one by one, compression on and off (notebook 07);
* :mod:`rtlab.teaching.foreign`: a GraphQL server that is not ours (strawberry's own view);
* :mod:`rtlab.teaching.probes`, :mod:`rtlab.teaching.faults` and
  :mod:`rtlab.teaching.results`: the fault matrix (four clients, one broken server, what each
  lost, duplicated and took to come back); :mod:`rtlab.teaching.transports` and
  :mod:`rtlab.teaching.tap`: the four transports' round trips, rates and bytes per message
  side by side; :mod:`rtlab.teaching.decide`: needs to transports, from those numbers
  (notebook 08).

They may use the chapter's ports (:mod:`rtlab.chapter`); the transports never do.
"""
