-- Placeholder in branch i16-accounts only, so that 0010_accounts has a gapless chain to
-- build and test against. The real migration is another helper's (issue 16): at the merge,
-- take theirs and drop this file.
SELECT 1;
