"""The one masking rule (fleet/secrets.py), case by case: what is masked and
what is deliberately left readable. Every place that shows a command (errors,
`inv record`, the migrate output) goes through it."""
import shlex

import pytest

from fleet.remote import command_line
from fleet.secrets import MASK, looks_secret, mask_argv, mask_word
from migrate.spec import render

# (argv word as the command holds it, as it is shown)
MASKED = [
    # env values by the variable's name
    ("DB_PASSWORD=s3cr3t", "DB_PASSWORD=****"),
    ("DB_PWD=s3cr3t", "DB_PWD=****"),
    ("MYSQL_ROOT_PASSWD=x", "MYSQL_ROOT_PASSWD=****"),
    ("SMTP_PASS=x", "SMTP_PASS=****"),
    ("GPG_PASSPHRASE=x", "GPG_PASSPHRASE=****"),
    ("SENTRY_DSN=https://abc123@o1.ingest.sentry.io/1", "SENTRY_DSN=****"),
    ("GITHUB_PAT=ghp_abc", "GITHUB_PAT=****"),
    ("GITHUB_TOKEN=ghp_abc", "GITHUB_TOKEN=****"),
    ("NPM_AUTH_TOKEN=x", "NPM_AUTH_TOKEN=****"),
    ("API_KEY=x", "API_KEY=****"),
    ("APIKEY=x", "APIKEY=****"),
    ("apiKey=x", "apiKey=****"),
    ("KEY=x", "KEY=****"),
    ("AWS_SECRET_ACCESS_KEY=x", "AWS_SECRET_ACCESS_KEY=****"),
    ("SECRET_KEY_BASE=x", "SECRET_KEY_BASE=****"),
    ("GOOGLE_APPLICATION_CREDENTIALS=/run/creds.json", "GOOGLE_APPLICATION_CREDENTIALS=****"),
    ("REGISTRY_CREDS=u:p", "REGISTRY_CREDS=****"),
    ("REDIS_AUTH=x", "REDIS_AUTH=****"),
    ("OAUTH_CLIENT_SECRET=x", "OAUTH_CLIENT_SECRET=****"),
    ("HTTP_AUTHORIZATION=Bearer x", "HTTP_AUTHORIZATION=****"),
    ("SSH_PRIVATE_KEY=-----BEGIN", "SSH_PRIVATE_KEY=****"),
    ("db.password=x", "db.password=****"),
    ("DB_PASSWORD=two words, and a comma", "DB_PASSWORD=****"),
    ("DB_PASSWORD=line1\nline2", "DB_PASSWORD=****"),
    ("DB_PASSWORD=", "DB_PASSWORD=****"),
    # connection strings: fields after `;`, `&` and `?` too (second review)
    ("ConnectionStrings__Default=Server=db;User=u;Password=Hunter2",
     "ConnectionStrings__Default=Server=db;User=u;Password=****"),
    ("AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==",
     "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=a;AccountKey=****"),
    ("JDBC_URL=jdbc:postgresql://db/app?user=app&password=Hunter2",
     "JDBC_URL=jdbc:postgresql://db/app?user=app&password=****"),
    ("STORAGE_ACCOUNTKEY=k", "STORAGE_ACCOUNTKEY=****"),
    ("REQUIREPASS=x", "REQUIREPASS=****"),
    # URLs: the password of the userinfo, wherever the URL is
    ("DATABASE_URL=postgres://u:pw@h/db", "DATABASE_URL=postgres://u:****@h/db"),
    ("REDIS_URL=redis://:pw@redis:6379/0", "REDIS_URL=redis://:****@redis:6379/0"),
    ("AMQP=amqp://user:p@ss@rabbit:5672/", "AMQP=amqp://user:****@rabbit:5672/"),
    ("https://u:pw@example.com/x", "https://u:****@example.com/x"),
    ("curl -f https://u:pw@localhost/health || exit 1",
     "curl -f https://u:****@localhost/health || exit 1"),
    ("A=mysql://a:b@h1/x B=mysql://c:d@h2/y", "A=mysql://a:****@h1/x B=mysql://c:****@h2/y"),
    # labels: traefik's basic-auth users hold password hashes
    ("traefik.http.middlewares.auth.basicauth.users=admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
     "traefik.http.middlewares.auth.basicauth.users=****"),
    ("com.example.db-password=x", "com.example.db-password=****"),
    # --log-opt values
    ("splunk-token=176FCEBF-4CF5-4EDF-91BC-703796522D20", "splunk-token=****"),
    ("splunk-url=https://admin:pw@splunk:8088", "splunk-url=https://admin:****@splunk:8088"),
    # options inside a value (volume driver options, --mount fields)
    ("o=addr=10.0.0.1,username=u,password=p,ss,port=445",
     "o=addr=10.0.0.1,username=u,password=****,port=445"),
    ("type=volume,source=v,target=/m,volume-opt=o=password=x",
     "type=volume,source=v,target=/m,volume-opt=o=password=****"),
    # --flag=VALUE forms
    ("--env=DB_PASSWORD=x", "--env=DB_PASSWORD=****"),
    ("--password=x", "--password=****"),
]

NOT_MASKED = [
    "PATH=/usr/local/sbin:/usr/local/bin",       # PATH is not PAT
    "PATCH_LEVEL=3",
    "KEYBOARD_LAYOUT=de",                        # KEY only as a whole word
    "MONKEY_MODE=on",
    "KEYCLOAK_URL=https://kc.example.com/auth",  # a URL without userinfo
    "PASSENGER_COUNT=4",                         # PASS only as a whole word
    "BYPASS_CACHE=1",
    "COMPASS_HEADING=270",
    "QUERY=https://example.com/search?q=docker&page=2",   # fields with plain names
    "TOKENIZERS_PARALLELISM=false",              # TOKEN as a word, or a word's end
    "AUTHOR=jane",                               # AUTHOR is not AUTH
    "GIT_AUTHOR_EMAIL=jane@example.com",
    "CERT_AUTHORITY=/etc/ssl/ca.pem",
    "PWD=/srv/app",                              # the shell's working directory
    "OLDPWD=/",
    "APACHE_RUN_USER=www-data",
    "MODE=a,b",
    "EMPTY=",
    "tier=web",
    "max-size=10m",
    "ssh://git@github.com/org/repo.git",        # a user name alone: not a password
    "https://kc.example.com:8443/path@x",       # host:port, then a path with @
    "http://localhost:8080",
    "9080:80",
    "--env-file",
    "type=bind,source=/srv,target=/srv",
    "sh -c 'echo $HOME'",
]


@pytest.mark.parametrize("word,shown", MASKED)
def test_masked(word, shown):
    assert mask_word(word) == shown


@pytest.mark.parametrize("word", NOT_MASKED)
def test_not_masked(word):
    assert mask_word(word) == word


def test_the_word_after_a_secret_named_flag_is_masked():
    argv = ["tool", "--password", "hunter2", "--token", "t0k", "--path", "/x", "-e", "A=1"]
    assert mask_argv(argv) == ["tool", "--password", MASK, "--token", MASK, "--path", "/x",
                               "-e", "A=1"]
    assert mask_argv(["redis-server", "--requirepass", "Hunter2"]) == \
        ["redis-server", "--requirepass", MASK]          # as the redis image documents


def test_free_text_and_stderr_use_the_same_rule():
    from fleet.errors import CommandError
    from fleet.secrets import mask_text
    assert mask_text("mount error: o=addr=nas,password=Hunter2 refused") == \
        "mount error: o=addr=nas,password=**** refused"
    e = CommandError("new", "docker volume create v", 1,
                     "Error: postgres://app:Hunter2@db/app unreachable\nDB_PASSWORD=Hunter2\n")
    assert "Hunter2" not in str(e) and "postgres://app:****@db/app" in str(e)


def test_one_rule_for_env_labels_log_opts_and_urls_in_a_whole_command():
    argv = ["docker", "run", "--env", "DB_PWD=pw1", "--env", "MODE=prod",
            "--label", "traefik.http.middlewares.a.basicauth.users=admin:hash",
            "--log-opt", "splunk-token=Xq9", "--log-opt", "max-size=1m",
            "--health-cmd", "curl -f https://u:pw2@localhost/", "img",
            "sh", "-c", "psql postgres://app:pw3@db/app"]
    line = render(argv)
    for secret in ("pw1", "admin:hash", "Xq9", "pw2", "pw3"):
        assert secret not in line
    words = shlex.split(line)
    for kept in ("DB_PWD=****", "MODE=prod", "splunk-token=****", "max-size=1m",
                 "curl -f https://u:****@localhost/", "psql postgres://app:****@db/app"):
        assert kept in words
    assert render(argv, mask=False) == shlex.join(argv)


def test_command_lines_shown_in_errors_use_the_same_rule():
    shown = command_line(["docker", "create", "--label", "api-token=abc", "--env", "GITHUB_PAT=x",
                          "https://u:pw@h/"], env={"SENTRY_DSN": "https://k@s/1", "A": "1"},
                         sudo="passwordless", mask=True)
    assert "abc" not in shown and "GITHUB_PAT=x" not in shown and ":pw@" not in shown
    assert "k@s" not in shown and "A=1" in shown


def test_looks_secret_by_name_or_by_a_url_password():
    assert looks_secret("DB_PWD", "x") and looks_secret("DATABASE_URL", "postgres://u:p@h/d")
    assert not looks_secret("DATABASE_URL", "postgres://h/d")
    assert not looks_secret("APACHE_RUN_USER", "www-data")
