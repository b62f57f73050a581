"""Self-checking exercises and their grading with nbgrader.

* :mod:`rtlab.exercises.check`: what the check cells call; a failing check says in one
  line what was expected and what the student's code did.
* :mod:`rtlab.exercises.grading`: nbgrader's execution made safe for a class (a hung cell
  is interrupted, a dead kernel fails only what did not run) and the score table.
* ``python -m rtlab.exercises student|grade``: what ``make student`` and ``make grade`` run.
"""
