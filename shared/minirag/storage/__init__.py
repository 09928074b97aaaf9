"""Upload storage: S3 (presigned PUT; moto, LocalStack or AWS by AWS_ENDPOINT_URL) or, on the
embedded default, files under `<data_dir>/uploads` written through a signed PUT URL that the local
runner serves, so clients use one flow everywhere."""
