/* CHECKPOINT_API marks the declarations that libcheckpoint exports: the
 * public C and C++ API. The library is compiled with -fvisibility=hidden, so
 * whatever is not marked (the front end's internals, the backends) stays
 * inside it and cannot clash with a program's own symbols. A class is marked
 * whole (`class CHECKPOINT_API Store`), so that its vtable and type_info are
 * exported too: an exception thrown inside the library is then caught by
 * its type in the program.
 *
 * Preprocessor only, valid C and C++: the C headers (checkpoint.h, version.h)
 * include it too. */
#ifndef CHECKPOINT_EXPORT_H
#define CHECKPOINT_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CHECKPOINT_API __attribute__((visibility("default")))
#else
#define CHECKPOINT_API
#endif

#endif /* CHECKPOINT_EXPORT_H */
