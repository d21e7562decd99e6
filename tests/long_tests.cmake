# Included by ctest after the tests that gtest_discover_tests() found: the
# exhaustive property tests over the parsers and the SQLite log, a minute
# each under the sanitizers, are labelled slow, so that the sanitizer run
# (preset asan) leaves them to the debug build; the fuzz targets run the
# same parsers under the sanitizers.
set_tests_properties(YamlLayoutReader.AcceptsOnlyWhatYamlCppReadsTheSame
                     JsonLayoutReader.AcceptsOnlyWhatTheGeneralReaderReadsTheSame
                     Databases/DamagedDatabaseLog.CommitsInTheLog/sqlite
                     PROPERTIES LABELS slow)
