"""Where the project's files are, independent of the current directory."""

from pathlib import Path

INCLUDE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = INCLUDE_DIR.parent
SQL_DIR = INCLUDE_DIR / "sql"
LOCAL_DIR = PROJECT_ROOT / ".local"
