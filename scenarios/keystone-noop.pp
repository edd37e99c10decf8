# Applied with --noop (the scenario's steps say noop: true): the catalog is compiled and evaluated
# against the real modules, and nothing in the container changes.
include keystone
