{#-
  Macros of the rankings mart (story 2): blue/green target, score formulas,
  the deferred-feature guard.
-#}

{#- Physical name of the rankings table this run builds: rankings_<color>.
    Blue/green = two incremental tables, one per color; the live color is a
    flag outside dbt. Used as the model's alias, so {{ this }} (and with it
    the incremental state) is per color. -#}
{% macro rankings_alias() -%}
    {%- set color = var('target_color', 'blue') | string | trim | lower -%}
    {%- if color not in ['blue', 'green'] -%}
        {{ exceptions.raise_compiler_error(
            "var target_color must be 'blue' or 'green', got '" ~ var('target_color') ~ "'") }}
    {%- endif -%}
    {{ return('rankings_' ~ color) }}
{%- endmacro %}


{#- CTR smoothed with a Beta prior centred on the global CTR:
      smoothed_ctr = (clicks + alpha * prior_ctr) / (impressions + alpha)
    i.e. the posterior mean of Beta(alpha*prior, alpha*(1-prior)) after
    `impressions` trials with `clicks` successes. alpha is in impressions: an
    item needs about alpha impressions before its own CTR outweighs the prior,
    so a long-tail item with 3 impressions and 1 click does not rank as 33%.
    alpha > 0 also keeps the ratio defined at zero impressions. -#}
{% macro smoothed_ctr(clicks, impressions, prior_ctr, alpha) -%}
    {%- if alpha | float <= 0 -%}
        {{ exceptions.raise_compiler_error("ctr_prior_impressions (alpha) must be > 0, got " ~ alpha) }}
    {%- endif -%}
    ((cast({{ clicks }} as double) + {{ alpha | float }} * {{ prior_ctr }})
        / (cast({{ impressions }} as double) + {{ alpha | float }}))
{%- endmacro %}


{#- Exponential recency decay with a half-life: 1 at 0 h, 0.5 at one
    half-life, 0.25 at two. -#}
{% macro recency_decay(recency_hours, half_life_hours) -%}
    {%- if half_life_hours | float <= 0 -%}
        {{ exceptions.raise_compiler_error("decay_half_life_hours must be > 0, got " ~ half_life_hours) }}
    {%- endif -%}
    pow(0.5, cast({{ recency_hours }} as double) / {{ half_life_hours | float }})
{%- endmacro %}


{#- The deferred long-tail features are configuration, not code: each is
    listed in dbt_project.yml with enabled: false and its reason. Enabling
    one without implementing it must fail loudly, not ship a fake column. -#}
{% macro assert_deferred_features_disabled() -%}
    {%- for feature in var('deferred_features', []) -%}
        {%- if feature.get('enabled', false) -%}
            {{ exceptions.raise_compiler_error(
                "deferred feature '" ~ feature['name'] ~ "' is enabled but not implemented "
                ~ "(deferred because: " ~ feature.get('reason', '?') ~ "); implement it in "
                ~ "models/marts/rankings.sql before enabling it") }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
