META
key;value
description;Buurtbudget Voorbeeldbuurt (verzonnen voorbeeld)
country;Netherlands
unit;Voorbeeldstad
instance;2026
num_projects;4
num_votes;12
budget;20000
vote_type;approval
rule;greedy
date_begin;2026
date_end;2026
min_length;1
max_length;4
language;nl
currency;EUR
comment;A made-up election in pabulib's format for wijkbus's README (real ones: pabulib.org)
PROJECTS
project_id;cost;votes;name;category
1;12500;2;Speeltuin opknappen;Jeugd
2;4800;6;Bankjes bij de vijver;Groen
3;7250;7;Buurtfeest in september;Ontmoeting
4;2300;9;Geveltuintjes;Groen
VOTES
voter_id;vote
v01;2,4
v02;2
v03;3,4
v04;2,3,4
v05;4
v06;3,4
v07;1,2,4
v08;4
v09;3
v10;1,2,3
v11;3,4
v12;2,3,4
