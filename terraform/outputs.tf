output "bucket_name" {
  description = "Name of the lake bucket."
  value       = aws_s3_bucket.lake.id
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "lake_url" {
  description = "The pipeline's LAKE_URL for this bucket."
  value       = "s3://${aws_s3_bucket.lake.id}/${trimsuffix(var.lake_prefix, "/")}"
}

output "pipeline_policy_json" {
  description = "The pipeline's least-privilege policy (also usable as an identity policy on S3-compatible servers)."
  value       = data.aws_iam_policy_document.pipeline.json
}

output "pipeline_policy_arn" {
  description = "ARN of the pipeline IAM policy (null when create_iam_policy = false)."
  value       = one(aws_iam_policy.pipeline[*].arn)
}

output "pipeline_user_name" {
  description = "Name of the pipeline IAM user (null when create_pipeline_user = false)."
  value       = one(aws_iam_user.pipeline[*].name)
}
