locals {
  # A custom endpoint (SeaweedFS, LocalStack) instead of AWS.
  custom_endpoint = var.s3_endpoint != ""
}

provider "aws" {
  region = var.region

  # Against SeaweedFS or LocalStack: path-style URLs and no calls to AWS-only services (STS, IMDS).
  s3_use_path_style           = local.custom_endpoint
  skip_credentials_validation = local.custom_endpoint
  skip_metadata_api_check     = local.custom_endpoint
  skip_region_validation      = local.custom_endpoint
  skip_requesting_account_id  = local.custom_endpoint

  # null leaves the provider's default (AWS) endpoints.
  endpoints {
    s3  = local.custom_endpoint ? var.s3_endpoint : null
    iam = local.custom_endpoint ? coalesce(var.iam_endpoint, var.s3_endpoint) : null
  }

  default_tags {
    tags = var.tags
  }
}
