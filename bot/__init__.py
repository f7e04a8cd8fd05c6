"""Social Business Coach: a coach for people carrying an organisation's change into a social business."""

from pathlib import Path

#: The project root holds dialogues/ and knowledge/ next to the package, so content stays data.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
