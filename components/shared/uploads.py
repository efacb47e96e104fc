"""Uploads, checked as soon as they arrive: only for the roles that may use them, and within the server's
count and size limits (``RERANKLENS_MAX_FILE_MB``; ``reranklens.access.limits``) before any file is read.

The count and sizes are the ones the browser reported, so a batch over the limits is refused without
reading a byte of it; the page draws no uploader at all for a role that may not upload.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from reranklens.access.limits import LimitError, check_uploads
from reranklens.views.render import markdown_escape

UPLOADS_FOR_ADMINS = "Only admins upload files to this server; ask one to add yours."


def checked_uploads(files: list[UploadedFile], max_file_mb: float) -> list[UploadedFile]:
    """``files`` when their count and sizes are within the limits; else one line saying which, and none."""
    try:
        check_uploads([file.size for file in files], max_file_mb)
    except LimitError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")
        return []
    return files
