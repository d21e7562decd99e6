/* A C program built against an installed checkpoint (packages, an install
 * prefix, a parent project): it opens a store, persists a position, closes
 * it and reads it back.
 *
 *   c_program STORE [UNKNOWN_STORE]
 *
 * With UNKNOWN_STORE, also checks that opening it is CHECKPOINT_INVALID_CONFIG
 * (a backend the library was built without). Prints the library's version. */
#include <checkpoint/checkpoint.h>
#include <checkpoint/version.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  checkpoint* cp = NULL;
  char* err = NULL;
  checkpoint_state_list list;
  if (argc < 2) {
    fprintf(stderr, "usage: %s STORE [UNKNOWN_STORE]\n", argv[0]);
    return 2;
  }
  if (checkpoint_open(argv[1], NULL, &cp, &err) != CHECKPOINT_OK) {
    fprintf(stderr, "open: %s\n", err);
    return 1;
  }
  if (checkpoint_persist(cp, "Application", 250502, 1512486962, 672130300, NULL) != CHECKPOINT_OK ||
      checkpoint_close(cp) != CHECKPOINT_OK) {
    fprintf(stderr, "persist: %s\n", checkpoint_errmsg(NULL));
    return 1;
  }
  if (checkpoint_load(argv[1], &list, NULL, NULL, &err) != CHECKPOINT_OK) {
    fprintf(stderr, "load: %s\n", err);
    return 1;
  }
  if (list.count != 1 || strcmp(list.states[0].name, "Application") != 0 ||
      list.states[0].record_number != 250502 || list.states[0].nanos != 672130300) {
    fprintf(stderr, "read back %zu states, not the one written\n", list.count);
    return 1;
  }
  checkpoint_state_list_free(&list);
  if (argc > 2 && checkpoint_open(argv[2], NULL, &cp, NULL) != CHECKPOINT_INVALID_CONFIG) {
    fprintf(stderr, "%s: not refused as unknown (%s)\n", argv[2], checkpoint_errmsg(NULL));
    return 1;
  }
  printf("checkpoint %s (built against %s): ok\n", checkpoint_version_string(),
         CHECKPOINT_VERSION_STRING);
  return 0;
}
