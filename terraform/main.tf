# The lake bucket: private, versioned, encrypted, TLS-only, with raw extracts tiered to cheaper storage.

locals {
  raw_prefix = "${var.lake_prefix}raw/"
  use_kms    = var.kms_key_arn != ""
}

resource "aws_s3_bucket" "lake" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a separate log bucket; out of scope for a dev lake (CloudTrail data events cover audits).
  #checkov:skip=CKV_AWS_144:Cross-region replication is out of scope for a dev lake; versioning covers accidental overwrites.
  #checkov:skip=CKV_AWS_145:SSE-S3 by default so SeaweedFS and LocalStack work without KMS; SSE-KMS when var.kms_key_arn is set.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket = aws_s3_bucket.lake.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.use_kms ? var.kms_key_arn : null
    }
    # S3 Bucket Keys cut KMS request costs; meaningless for SSE-S3.
    bucket_key_enabled = local.use_kms
  }
}

data "aws_iam_policy_document" "lake_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.lake.arn,
      "${aws_s3_bucket.lake.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "lake" {
  bucket = aws_s3_bucket.lake.id
  policy = data.aws_iam_policy_document.lake_bucket.json

  # S3 rejects a bucket policy while the public access block is being (re)applied.
  depends_on = [aws_s3_bucket_public_access_block.lake]
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    id     = "raw-tiering"
    status = "Enabled"

    filter {
      prefix = local.raw_prefix
    }

    transition {
      days          = var.raw_transition_ia_days
      storage_class = "STANDARD_IA"
    }

    transition {
      days          = var.raw_transition_glacier_days
      storage_class = "GLACIER"
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  lifecycle {
    precondition {
      condition     = var.raw_transition_glacier_days >= var.raw_transition_ia_days + 30
      error_message = "raw_transition_glacier_days must be at least raw_transition_ia_days + 30 (STANDARD_IA minimum)."
    }
  }

  # Noncurrent-version rules need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.lake]
}

# Object events to EventBridge: free without rules, and where downstream triggers would hook in.
resource "aws_s3_bucket_notification" "lake" {
  count = var.enable_eventbridge_notifications ? 1 : 0

  bucket      = aws_s3_bucket.lake.id
  eventbridge = true
}
