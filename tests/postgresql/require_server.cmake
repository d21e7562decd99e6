# Included by ctest after the tests that gtest_discover_tests() found: the
# cases of other programs that use the postgresql: test server run after the
# fixture that starts it.
set_tests_properties(Ctl.StoresListsTheStoresOfAPostgresqlDatabase
                     Ctl.APasswordInAConfigStringIsNeverPrinted
                     PROPERTIES FIXTURES_REQUIRED postgresql_server)
