-- Placeholder for i16-service's migration 0008 (sessions columns): lets 0009 build on this
-- branch (migrations must not leave gaps). Drop this file when 0008 lands.
SELECT 1;
