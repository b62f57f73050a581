"""nbgrader's configuration for rtlab's exercises: `nbgrader generate_assignment exercises` and
`nbgrader autograde exercises` work from the repository root as they are.

The assignment is ``exercises``: its source is ``notebooks/exercises/`` (the instructor copies,
solutions in). Everything nbgrader writes (student copies in ``release/``, ``submitted/``,
``autograded/``, ``feedback/`` and the gradebook database) goes to the course directory,
``course/`` (git-ignored) unless ``RTLAB_COURSE_DIR`` names another; nothing goes to $HOME.
``make student`` and ``make grade`` (``python -m rtlab.exercises``) run these commands.
"""

import os
from pathlib import Path

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute

from rtlab.exercises.grading import BoundedExecute

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

REPO = Path(__file__).resolve().parent
COURSE = Path(os.environ.get("RTLAB_COURSE_DIR") or REPO / "course").resolve()

c.CourseDirectory.course_id = "rtlab"
c.CourseDirectory.root = str(COURSE)
c.CourseDirectory.source_directory = str(REPO / "notebooks")  # absolute: nbgrader allows it
c.CourseDirectory.db_url = f"sqlite:///{COURSE / 'gradebook.db'}"

# Grading runs each submitted notebook in a fresh kernel (and the notebook's lab.start() gives
# it a fresh server). A cell that runs longer than the timeout is interrupted and fails; a
# kernel that dies fails its cell and every cell after it (BoundedExecute), and grading goes on.
c.Execute.timeout = int(os.environ.get("RTLAB_CELL_TIMEOUT", "30"))
c.Execute.interrupt_on_timeout = True
c.Autograde.autograde_preprocessors = [
    BoundedExecute if step is Execute else step
    for step in Autograde().autograde_preprocessors
]
