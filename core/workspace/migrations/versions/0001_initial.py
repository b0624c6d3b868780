"""The first workspace schema: datasets, segmentations, export log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(128), nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("mapping", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "segmentations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("creator", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "dataset_id",
            sa.Integer,
            sa.ForeignKey("datasets.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("configs", sa.JSON, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("segment_names", sa.JSON, nullable=False),
        sa.Column("segment_colors", sa.JSON, nullable=False),
        sa.Column("model", sa.LargeBinary, nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "export_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_by", sa.String(200)),
        sa.Column(
            "segmentation_id",
            sa.Integer,
            sa.ForeignKey("segmentations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("segmentation_name", sa.String(200)),
        sa.Column("list_name", sa.Text, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("export_log")
    op.drop_table("segmentations")
    op.drop_table("datasets")
