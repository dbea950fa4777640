# Least privilege for the pipeline: list the bucket, read/write/delete objects under the lake prefix.

locals {
  lake_objects_arn = "${aws_s3_bucket.lake.arn}/${var.lake_prefix}*"
}

data "aws_iam_policy_document" "pipeline" {
  statement {
    sid       = "ListLakeBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.lake.arn]

    dynamic "condition" {
      for_each = var.lake_prefix == "" ? [] : [var.lake_prefix]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${condition.value}*"]
      }
    }
  }

  statement {
    sid = "ReadWriteLakeObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.lake_objects_arn]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [var.kms_key_arn] : []
    content {
      sid       = "UseLakeKmsKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_policy" "pipeline" {
  count = var.create_iam_policy ? 1 : 0

  name        = "${var.bucket_name}-pipeline"
  description = "ELT pipeline access to the lake bucket ${var.bucket_name} (prefix '${var.lake_prefix}')."
  policy      = data.aws_iam_policy_document.pipeline.json
}

# Optional service user for the pipeline outside AWS (no access key here: create one out of band, see README).
# The policy is attached to a group the user belongs to, never to the user directly.
resource "aws_iam_group" "pipeline" {
  count = var.create_pipeline_user ? 1 : 0

  name = var.pipeline_user_name

  lifecycle {
    precondition {
      condition     = var.create_iam_policy
      error_message = "create_pipeline_user needs create_iam_policy = true."
    }
  }
}

resource "aws_iam_group_policy_attachment" "pipeline" {
  count = var.create_pipeline_user ? 1 : 0

  group      = aws_iam_group.pipeline[0].name
  policy_arn = aws_iam_policy.pipeline[0].arn
}

resource "aws_iam_user" "pipeline" {
  #checkov:skip=CKV_AWS_273:Optional (off by default) service user for a pipeline running outside AWS, where SSO does not apply.
  count = var.create_pipeline_user ? 1 : 0

  name = var.pipeline_user_name
}

resource "aws_iam_user_group_membership" "pipeline" {
  count = var.create_pipeline_user ? 1 : 0

  user   = aws_iam_user.pipeline[0].name
  groups = [aws_iam_group.pipeline[0].name]
}
