"""Migration tools: find an app's OpenAI dependencies (scan) and move it onto banjia (rewrite)."""

from banjia.migrate.rewrite import FileChange, main_rewrite, plan, unified_diff
from banjia.migrate.scan import Finding, ScanReport, main_scan, render_table, scan

__all__ = [
    "FileChange",
    "Finding",
    "ScanReport",
    "main_rewrite",
    "main_scan",
    "plan",
    "render_table",
    "scan",
    "unified_diff",
]
