variable "bucket_name" {
  description = "Name of the lake bucket (globally unique on AWS)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "region" {
  description = "AWS region (any value for SeaweedFS; LocalStack uses us-east-1 by default)."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags applied to every resource (provider default_tags)."
  type        = map(string)
  default = {
    project    = "elt-platform"
    managed-by = "terraform"
  }
}

variable "s3_endpoint" {
  description = "Custom S3 endpoint, e.g. http://127.0.0.1:8333 (SeaweedFS) or http://localhost:4566 (LocalStack). Empty: AWS."
  type        = string
  default     = ""
}

variable "iam_endpoint" {
  description = "Custom IAM endpoint when s3_endpoint is set. Empty: the same as s3_endpoint (LocalStack)."
  type        = string
  default     = ""
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket, with a trailing slash (LAKE_URL=s3://BUCKET/PREFIX). Empty: the bucket root."
  type        = string
  default     = "lake/"

  validation {
    condition     = var.lake_prefix == "" || endswith(var.lake_prefix, "/")
    error_message = "lake_prefix must be empty or end with a slash."
  }
}

variable "kms_key_arn" {
  description = "KMS key for default encryption (SSE-KMS). Empty: SSE-S3 (AES256)."
  type        = string
  default     = ""
}

variable "raw_transition_ia_days" {
  description = "Days after which raw extracts (LAKE_PREFIX/raw/) move to STANDARD_IA (30 at least)."
  type        = number
  default     = 30

  validation {
    condition     = var.raw_transition_ia_days >= 30
    error_message = "S3 requires 30 days at least before STANDARD_IA."
  }
}

variable "raw_transition_glacier_days" {
  description = "Days after which raw extracts move to GLACIER (Flexible Retrieval)."
  type        = number
  default     = 90

  # Checked against raw_transition_ia_days in a precondition (main.tf): validations may only reference
  # other variables from Terraform 1.9 on.
  validation {
    condition     = var.raw_transition_glacier_days > 30
    error_message = "raw_transition_glacier_days must exceed 30."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed."
  type        = number
  default     = 30
}

variable "enable_eventbridge_notifications" {
  description = "Send the bucket's object events to Amazon EventBridge (no cost without rules). Set false on SeaweedFS."
  type        = bool
  default     = true
}

variable "create_iam_policy" {
  description = "Create the pipeline's IAM policy (AWS, LocalStack). Set false on SeaweedFS, which has no AWS IAM API."
  type        = bool
  default     = true
}

variable "create_pipeline_user" {
  description = "Create an IAM user (in a group holding the pipeline policy) for the pipeline. Needs create_iam_policy."
  type        = bool
  default     = false
}

variable "pipeline_user_name" {
  description = "Name of the optional pipeline IAM user; its group is named after it."
  type        = string
  default     = "elt-pipeline"
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a non-empty bucket (every object version). Keep false outside dev."
  type        = bool
  default     = false
}
