// Clang's thread-safety annotations (-Wthread-safety), as LevelDB's
// port/thread_annotations.h has them: which mutex guards which member, and
// which functions must (or must not) be called with it held. Other
// compilers see nothing.
#pragma once

#if defined(__clang__)
#define CHECKPOINT_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CHECKPOINT_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) CHECKPOINT_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY CHECKPOINT_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) CHECKPOINT_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) CHECKPOINT_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CHECKPOINT_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define REQUIRES(...) CHECKPOINT_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) CHECKPOINT_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) CHECKPOINT_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) CHECKPOINT_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS CHECKPOINT_THREAD_ANNOTATION(no_thread_safety_analysis)
