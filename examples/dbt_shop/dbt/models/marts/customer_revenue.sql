-- Revenue by customer, from orders of at least `min_amount` (a job parameter, passed as a var).
select c.id as customer_id, c.name, count(*) as orders, sum(o.amount) as revenue
from {{ ref('stg_orders') }} o
join {{ ref('customers') }} c on c.id = o.customer_id
where o.amount >= {{ var('min_amount', 0) }}
group by c.id, c.name
