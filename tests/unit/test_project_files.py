"""A compose project's own files (migrate/project_files.py): which files its
labels name, and what preflight decides from what each host has."""
from migrate.project_files import Named, Seen, _parents, decide, named

LABELS = {"com.docker.compose.project": "shop",
          "com.docker.compose.project.working_dir": "/srv/shop",
          "com.docker.compose.project.config_files":
              "/srv/shop/docker-compose.yml,/srv/shop/override.yml",
          "com.docker.compose.project.environment_file": "/srv/shop/.env"}


def test_the_labels_name_the_compose_and_env_files_once():
    n = named([LABELS, {**LABELS, "com.docker.compose.project.config_files":
                        "/srv/shop/docker-compose.yml, relative.yml"}])
    assert n == Named(("/srv/shop/.env", "/srv/shop/docker-compose.yml",
                       "/srv/shop/override.yml", "/srv/shop/relative.yml"), ())
    # compose v1 names no env file, and its files as given (relative to the
    # working directory): the working directory's .env, if it is there
    v1 = named([{"com.docker.compose.project.working_dir": "/srv/app/",
                 "com.docker.compose.project.config_files": "docker-compose.yml"}])
    assert v1 == Named(("/srv/app/docker-compose.yml",), ("/srv/app/.env",))
    assert named([{"com.docker.compose.project.config_files": "docker-compose.yml"}]) == \
        Named((), ())
    assert named([{"com.docker.compose.project": "x"}]) == Named((), ())


def test_what_is_copied_kept_refused_and_named():
    n = Named(("/srv/shop/a.yml", "/srv/shop/b.yml", "/srv/shop/c.yml", "/srv/shop/gone.yml"),
              ("/srv/shop/.env",))
    seen = Seen(source={"/srv/shop/a.yml": "1", "/srv/shop/b.yml": "2", "/srv/shop/c.yml": "3",
                        "/srv/shop/gone.yml": None, "/srv/shop/.env": None},
                target={"/srv/shop/a.yml": None, "/srv/shop/b.yml": "2", "/srv/shop/c.yml": "9"},
                missing_dirs=("/srv/shop",))
    p = decide(n, seen, "old", "new")
    assert p.copy == ("/srv/shop/a.yml",) and p.same == ("/srv/shop/b.yml",)
    assert p.missing_dirs == ("/srv/shop",)
    assert p.problems == ("new: /srv/shop/c.yml exists with other content; move it aside there "
                          "(the project's file goes to the same path), then run again",)
    assert p.warnings == ("/srv/shop/gone.yml: the project's labels name it, but old has no "
                          "such file: not copied, and `docker compose` will not find it on new "
                          "either",)


def test_the_folders_to_make_are_every_missing_parent_shallowest_first():
    assert _parents(["/srv/shop/conf/a.yml", "/srv/shop/b"]) == ["/srv", "/srv/shop",
                                                                  "/srv/shop/conf"]
