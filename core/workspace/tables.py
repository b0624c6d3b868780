"""The workspace schema (SQLAlchemy Core): the one definition the migrations create.

``datasets``: where transactions came from (a redacted description, never credentials), their
identity (the pipeline's fingerprint: content + mapping + date format), mapping and cleaning
settings as JSON, and the SHA-256 of their bytes in the content-addressed store
(:mod:`core.workspace.blobs`). ``segmentations``: a named, saved segmentation; its fitted model
is the model file's content (:func:`core.clustering.persist.model_bytes`: a data bundle, no
pickle). ``export_log``: who exported which list of which segmentation, when, how many rows.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

NAME_LENGTH = 200

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(128), nullable=False, unique=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("filename", sa.String(512), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),  # date format, decimal comma, cleaning
    sa.Column("created_by", sa.String(NAME_LENGTH)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

segmentations = sa.Table(
    "segmentations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(NAME_LENGTH), nullable=False, unique=True),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("creator", sa.String(NAME_LENGTH)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column(
        "dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("configs", sa.JSON, nullable=False),  # preprocessing, model, workflow
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("segment_names", sa.JSON, nullable=False),
    sa.Column("segment_colors", sa.JSON, nullable=False),
    sa.Column("model", sa.LargeBinary, nullable=False),
    sa.Column("model_sha256", sa.String(64), nullable=False),
)

export_log = sa.Table(
    "export_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("exported_by", sa.String(NAME_LENGTH)),
    sa.Column(
        "segmentation_id",
        sa.Integer,
        sa.ForeignKey("segmentations.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("segmentation_name", sa.String(NAME_LENGTH)),  # kept if it is deleted later
    sa.Column("list_name", sa.Text, nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
)
