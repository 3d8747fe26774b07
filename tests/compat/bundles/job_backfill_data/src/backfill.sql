SELECT CAST(:run_date AS DATE) + INTERVAL 1 DAY AS next_day;
